//! The few raw Secret Service calls `keyring` does not offer, over a plain D-Bus connection (no
//! crypto session, no secrets): finding the bus, seeing whether a provider is there, and looking
//! items up *without* unlocking them.
//!
//! That last part is why this module exists. `keyring` unlocks a locked item before reading it, and
//! unlocking opens a password prompt that, in a daemon or over SSH, no one can answer: the call would
//! hang. Looking first lets awsenv report a locked keyring at once and never call Unlock.
//!
//! Every call that talks to the bus runs under [`with_deadline`], so a provider that never answers
//! costs a bounded wait, not a hang.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use zbus::blocking::Connection;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};

use crate::core::env::Env;

const SECRETS: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const SERVICE_IFACE: &str = "org.freedesktop.Secret.Service";

/// How long one Secret Service operation may take before awsenv gives up on it. Generous, because
/// the first call may start the provider through D-Bus activation.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Runs `f` on its own thread and waits at most `deadline` for it. On a timeout the thread is left
/// to finish (or block) on its own: the caller gets [`Late`] and moves on.
pub fn with_deadline<T, F>(deadline: Duration, f: F) -> Result<T, Late>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("awsenv-keychain".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|_| Late)?;
    rx.recv_timeout(deadline).map_err(|_| Late)
}

/// An operation that did not finish in time (or whose thread could not start or died).
#[derive(Debug)]
pub struct Late;

/// Where the D-Bus session bus is, as `zbus` (and so `keyring`) will look for it:
/// `DBUS_SESSION_BUS_ADDRESS`, else the socket `$XDG_RUNTIME_DIR/bus` (or `/run/user/UID/bus`).
/// `Err` says, for a person, why there is none.
pub fn session_bus_address(env: &Env) -> Result<String, String> {
    if let Some(address) = env.non_empty("DBUS_SESSION_BUS_ADDRESS") {
        return Ok(address.to_string());
    }
    let runtime_dir = match env.non_empty("XDG_RUNTIME_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            use std::os::unix::fs::MetadataExt;
            // The owner of /proc/self is this process's user: the same UID zbus would use.
            match std::fs::metadata("/proc/self") {
                Ok(m) => PathBuf::from(format!("/run/user/{}", m.uid())),
                Err(_) => {
                    return Err("DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR unset".into());
                }
            }
        }
    };
    let socket = runtime_dir.join("bus");
    if socket.exists() {
        Ok(format!("unix:path={}", socket.display()))
    } else {
        Err(format!(
            "DBUS_SESSION_BUS_ADDRESS unset, no socket at {}",
            socket.display()
        ))
    }
}

/// A connection to the bus at `address`.
pub fn connect(address: &str) -> zbus::Result<Connection> {
    zbus::blocking::connection::Builder::address(address)?.build()
}

/// A connection to the session bus the way `keyring` finds it (the process environment).
pub fn connect_session() -> zbus::Result<Connection> {
    Connection::session()
}

/// Whether a Secret Service provider runs on the bus or can be started by it (D-Bus activation:
/// gnome-keyring installs such a service file).
pub fn provider_available(conn: &Connection) -> zbus::Result<bool> {
    let running: bool = conn
        .call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "NameHasOwner",
            &(SECRETS,),
        )?
        .body()
        .deserialize()?;
    if running {
        return Ok(true);
    }
    let names: Vec<String> = conn
        .call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "ListActivatableNames",
            &(),
        )?
        .body()
        .deserialize()?;
    Ok(names.iter().any(|n| n == SECRETS))
}

/// Items matching `attributes`, split as the Secret Service returns them: (unlocked, locked).
/// Searching never prompts, and finds locked items too.
pub fn search(
    conn: &Connection,
    attributes: &HashMap<&str, &str>,
) -> zbus::Result<(Vec<OwnedObjectPath>, Vec<OwnedObjectPath>)> {
    conn.call_method(
        Some(SECRETS),
        SERVICE_PATH,
        Some(SERVICE_IFACE),
        "SearchItems",
        &(attributes,),
    )?
    .body()
    .deserialize()
}

/// The collection behind the `default` alias, where new items go; `None` when there is none.
pub fn default_collection(conn: &Connection) -> zbus::Result<Option<OwnedObjectPath>> {
    let path: OwnedObjectPath = conn
        .call_method(
            Some(SECRETS),
            SERVICE_PATH,
            Some(SERVICE_IFACE),
            "ReadAlias",
            &("default",),
        )?
        .body()
        .deserialize()?;
    Ok((path.as_str() != "/").then_some(path))
}

fn property(conn: &Connection, path: &str, iface: &str, name: &str) -> zbus::Result<OwnedValue> {
    conn.call_method(
        Some(SECRETS),
        path,
        Some("org.freedesktop.DBus.Properties"),
        "Get",
        &(iface, name),
    )?
    .body()
    .deserialize()
}

/// Whether a collection is locked.
pub fn collection_locked(conn: &Connection, collection: &str) -> zbus::Result<bool> {
    let value = property(
        conn,
        collection,
        "org.freedesktop.Secret.Collection",
        "Locked",
    )?;
    bool::try_from(value).map_err(zbus::Error::Variant)
}

/// An item's attributes (readable on locked items too).
pub fn item_attributes(conn: &Connection, item: &str) -> zbus::Result<HashMap<String, String>> {
    let value = property(conn, item, "org.freedesktop.Secret.Item", "Attributes")?;
    HashMap::<String, String>::try_from(value).map_err(zbus::Error::Variant)
}

/// Whether a D-Bus error means "locked" (gnome-keyring's `org.freedesktop.Secret.Error.IsLocked`,
/// as text because it reaches us wrapped in `keyring` and `secret-service` errors).
pub fn says_locked(message: &str) -> bool {
    message.contains("IsLocked") || message.contains("object locked")
}

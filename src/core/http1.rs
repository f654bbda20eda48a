//! Just enough HTTP/1.1 for awsenv's loopback credential endpoints: parsing a request head that has
//! fully arrived, and writing a response. The SDKs' metadata clients send tiny requests (a method, a
//! path, a few headers, never a body that matters), so a strict hand-written parser is smaller and
//! easier to reason about than a server framework, and it refuses anything unusual instead of guessing.

use std::fmt;

/// The longest request head accepted (request line and headers).
pub const MAX_HEAD: usize = 8 * 1024;
/// The longest request body accepted (read and ignored; the endpoints need none).
pub const MAX_BODY: usize = 1024;

/// A parsed request line and headers.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    /// The path of the request target, without a query string.
    pub path: String,
    /// Header names lower-cased, values trimmed, in arrival order.
    pub headers: Vec<(String, String)>,
}

impl fmt::Debug for RequestHead {
    // Names only: `Authorization` and the IMDS token header carry secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", &self.method)
            .field("path", &self.path)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Why a request head is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("the request head is longer than {MAX_HEAD} bytes")]
    TooLarge,
    #[error("malformed request: {0}")]
    Malformed(&'static str),
}

impl RequestHead {
    /// The value of header `name` (lower-case), when it appears exactly once; `Err` when repeated.
    pub fn header(&self, name: &str) -> Result<Option<&str>, HeadError> {
        let mut found = self.headers.iter().filter(|(k, _)| k == name);
        match (found.next(), found.next()) {
            (None, _) => Ok(None),
            (Some((_, v)), None) => Ok(Some(v.as_str())),
            (Some(_), Some(_)) => Err(HeadError::Malformed("a header is repeated")),
        }
    }

    /// Whether header `name` (lower-case) is present at all.
    pub fn has(&self, name: &str) -> bool {
        self.headers.iter().any(|(k, _)| k == name)
    }

    /// The length of the body that follows the head (0 when none is announced). A chunked body is
    /// refused: no client of these endpoints sends one.
    pub fn body_length(&self) -> Result<usize, HeadError> {
        if self.has("transfer-encoding") {
            return Err(HeadError::Malformed("a chunked body is not accepted"));
        }
        match self.header("content-length")? {
            None => Ok(0),
            Some(v) => {
                let n: usize = v
                    .parse()
                    .map_err(|_| HeadError::Malformed("Content-Length is not a number"))?;
                if n > MAX_BODY {
                    return Err(HeadError::Malformed("the body is too long"));
                }
                Ok(n)
            }
        }
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parses the head at the start of `buf` once it is complete (ends with an empty line). `Ok(None)`:
/// more bytes are needed. On success also returns the head's length, where the body starts.
pub fn parse_head(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, HeadError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD {
            Err(HeadError::TooLarge)
        } else {
            Ok(None)
        };
    };
    if end + 4 > MAX_HEAD {
        return Err(HeadError::TooLarge);
    }
    let text = std::str::from_utf8(&buf[..end])
        .map_err(|_| HeadError::Malformed("the head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed(
            "the request line is not METHOD PATH VERSION",
        ));
    };
    if !is_token(method) {
        return Err(HeadError::Malformed("the method is not a token"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(HeadError::Malformed(
            "only HTTP/1.0 and HTTP/1.1 are spoken",
        ));
    }
    // Origin form only: an absolute URL is what a client sends to a proxy.
    if !target.starts_with('/') || target.bytes().any(|b| b.is_ascii_control()) {
        return Err(HeadError::Malformed("the request target is not a path"));
    }
    let path = target.split(['?', '#']).next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            return Err(HeadError::Malformed("folded header lines are not accepted"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(HeadError::Malformed("a header line has no colon"));
        };
        if !is_token(name) {
            return Err(HeadError::Malformed("a header name is not a token"));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(HeadError::Malformed(
                "a header value holds control characters",
            ));
        }
        headers.push((name.to_ascii_lowercase(), value.to_string()));
    }
    Ok(Some((
        RequestHead {
            method: method.to_string(),
            path,
            headers,
        },
        end + 4,
    )))
}

/// A response to write; every response closes the connection (`Connection: close`), which all HTTP
/// clients honour, so no keep-alive state is needed.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl fmt::Debug for Response {
    // The body may hold credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Response {
    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: body.into(),
        }
    }

    /// An `application/json` response.
    pub fn json(status: u16, body: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!(
            "Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\nServer: awsenv\r\n\r\n",
            self.body.len()
        ));
        out.push_str(&self.body);
        out.into_bytes()
    }
}

/// The reason phrase of the statuses the endpoints use.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_complete_head_and_says_where_the_body_starts() {
        let raw = b"PUT /latest/api/token?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nX-aws-ec2-metadata-token-ttl-seconds:  60 \r\nContent-Length: 2\r\n\r\nab";
        let (head, at) = parse_head(raw).unwrap().unwrap();
        assert_eq!(head.method, "PUT");
        assert_eq!(head.path, "/latest/api/token");
        assert_eq!(
            head.header("x-aws-ec2-metadata-token-ttl-seconds"),
            Ok(Some("60"))
        );
        assert_eq!(head.body_length(), Ok(2));
        assert_eq!(&raw[at..], b"ab");
    }

    #[test]
    fn an_incomplete_head_asks_for_more_and_a_huge_one_is_refused() {
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n"), Ok(None));
        let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(parse_head(huge.as_bytes()), Err(HeadError::TooLarge));
    }

    #[test]
    fn refuses_what_a_metadata_client_never_sends() {
        for raw in [
            "GET http://169.254.169.254/ HTTP/1.1\r\n\r\n",
            "GET / HTTP/2\r\n\r\n",
            "GET  / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Name: a\r\n\r\n",
            "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        ] {
            assert!(
                matches!(parse_head(raw.as_bytes()), Err(HeadError::Malformed(_))),
                "{raw:?}"
            );
        }
        let (head, _) = parse_head(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(head.header("host").is_err(), "a repeated Host is ambiguous");
        let (head, _) = parse_head(b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(head.body_length().is_err());
    }

    #[test]
    fn responses_close_the_connection_and_debug_hides_secrets() {
        let r = Response::text(200, "secret-token").with_header("X-A", "1");
        let wire = String::from_utf8(r.to_bytes()).unwrap();
        assert!(wire.starts_with("HTTP/1.1 200 OK\r\n"), "{wire}");
        assert!(wire.contains("Content-Length: 12\r\n"));
        assert!(wire.contains("Connection: close\r\n"));
        assert!(wire.ends_with("\r\n\r\nsecret-token"));
        assert!(!format!("{r:?}").contains("secret"));
        let (head, _) = parse_head(b"GET / HTTP/1.1\r\nAuthorization: hunter2\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!format!("{head:?}").contains("hunter2"));
    }
}

//! (in progress: SigV4 signer)

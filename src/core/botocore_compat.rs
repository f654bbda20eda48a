//! (in progress: where botocore reads a config file differently from the cross-SDK rules)

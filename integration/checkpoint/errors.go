package checkpoint

import "errors"

// Sentinel errors; every error returned by this package wraps one of them
// (test with errors.Is) and names the file, tensor or URL concerned.
var (
	// ErrNotFound: a directory, file, tensor or hub repository does not exist.
	ErrNotFound = errors.New("checkpoint: not found")
	// ErrCorrupt: a file is truncated or malformed (bad header, offsets out
	// of range, invalid JSON, non-finite weights, ...).
	ErrCorrupt = errors.New("checkpoint: corrupt file")
	// ErrShapeMismatch: the weights do not have the shapes the config implies.
	ErrShapeMismatch = errors.New("checkpoint: shape mismatch")
	// ErrUnsupported: a well-formed input this package does not handle
	// (another model type, an integer or 8-bit tensor dtype, a sharded or
	// legacy file, an unknown activation).
	ErrUnsupported = errors.New("checkpoint: unsupported")
	// ErrUnauthorized: the hub refused access (HTTP 401/403): the repository
	// is private or gated, or does not exist (the hub answers 401 for both).
	ErrUnauthorized = errors.New("checkpoint: unauthorized")
	// ErrDownload: a download failed for another reason (network error,
	// unexpected HTTP status, truncated body).
	ErrDownload = errors.New("checkpoint: download failed")
)

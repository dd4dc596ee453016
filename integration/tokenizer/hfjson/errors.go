package hfjson

import "errors"

// Errors returned for unusable files; test with errors.Is.
var (
	// ErrInvalid reports a malformed tokenizer.json or spm.model.
	ErrInvalid = errors.New("hfjson: invalid tokenizer file")
	// ErrUnsupported reports a component or option that this package does not implement.
	ErrUnsupported = errors.New("hfjson: unsupported tokenizer component")
)

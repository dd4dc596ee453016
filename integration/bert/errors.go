package bert

import "errors"

// ErrInvalidInput reports a batch the model cannot encode: an empty sequence, a token or token
// type id outside its vocabulary, or a sequence longer than the position embeddings.
var ErrInvalidInput = errors.New("bert: invalid input")

// Package dataset reads labelled text-classification data in the GLUE TSV layout (a header row,
// then one `sentence<TAB>label` row per example) and provides the seeded shuffling and batching
// that training uses. Columns chooses other layouts by header name: sentence pairs (RTE, STS-B),
// regression scores, class names. Token-classification data is read from CoNLL files (one
// word and its tag per line, ReadCoNLL).
//
// Reading is strict: a malformed row is an error that names the file and line and wraps
// ErrMalformed, never a skipped or half-read example. Files are read as streams within
// MaxLineBytes per line and MaxFileBytes in all, and labels are below MaxLabels, so that a
// mistaken path or a mistyped label fails at once rather than exhausting memory.
package dataset

// Package dataset reads labelled text-classification data in the GLUE TSV layout (a header row,
// then one `sentence<TAB>label` row per example) and provides the seeded shuffling and batching
// that training uses.
//
// Reading is strict: a malformed row is an error that names the file and line and wraps
// ErrMalformed, never a skipped or half-read example.
package dataset

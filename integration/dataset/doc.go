// Package dataset reads labelled text-classification data in the GLUE TSV layout (a header row,
// then one `sentence<TAB>label` row per example) and provides the seeded shuffling and batching
// that training uses.
//
// Reading is strict: a malformed row is an error that names the file and line and wraps
// ErrMalformed, never a skipped or half-read example. Files are read as streams within
// MaxLineBytes per line and MaxFileBytes in all, and labels are below MaxLabels, so that a
// mistaken path or a mistyped label fails at once rather than exhausting memory.
package dataset

// Package trace reads the editing traces under shared/traces: real
// keystroke-by-keystroke editing histories (Joseph Gentle's and JSON Joy's
// public data sets) used for benchmarks and replay tests.
//
// A trace is gzipped JSON, {startContent, endContent, txns: [{patches}]},
// each patch [position, deletedCount, insertedText]; concurrent traces add
// kind, numAgents and per transaction parents, numChildren and agent (see
// shared/traces/README.md). Positions and counts in the files are Unicode
// code points. Load refuses a trace that inserts a character outside the
// Basic Multilingual Plane, so that positions are also UTF-16 code units,
// the unit of an ot.Delta; none of the shipped traces has one.
//
// The package is pure apart from reading files; everything is safe for
// concurrent use.
package trace

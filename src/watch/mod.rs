//! File watching, debouncing and tail-reading of grown files.

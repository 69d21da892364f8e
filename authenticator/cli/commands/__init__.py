"""One module per group of commands; a handler takes the parsed arguments, returns an exit code."""

"""MPR backend: config → media → storage → catalog → jobs → api (each layer imports only those to its left)."""

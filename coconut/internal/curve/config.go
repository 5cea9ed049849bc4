package curve

import "github.com/consensys/gnark-crypto/ecc"

// multiExpConfig lets the library pick its own parallelism for large MSMs.
var multiExpConfig = ecc.MultiExpConfig{}

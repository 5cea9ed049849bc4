module github.com/nyx-privacy/nyx

go 1.26.8

require (
	github.com/CosmWasm/wasmd v0.70.3 // indirect
	github.com/CosmWasm/wasmvm/v3 v3.0.7 // indirect
	github.com/cloudflare/circl v1.6.5 // indirect
	github.com/cometbft/cometbft v0.39.0 // indirect
	github.com/consensys/gnark-crypto v0.22.0 // indirect
	github.com/cosmos/cosmos-sdk v0.54.0 // indirect
	github.com/cosmos/ibc-go/v11 v11.1.0 // indirect
	github.com/google/btree v1.1.3 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/shamaton/msgpack/v2 v2.2.3 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace (
	// The SDK's keyring fork; Go ignores replace lines of dependencies.
	github.com/99designs/keyring => github.com/cosmos/keyring v1.2.0
	// Kept by wasmd: the original jwt-go is unmaintained and vulnerable.
	github.com/dgrijalva/jwt-go => github.com/golang-jwt/jwt/v4 v4.4.2
	github.com/gin-gonic/gin => github.com/gin-gonic/gin v1.8.1
	// Pinned by the SDK: newer goleveldb breaks the iavl/leveldb backends.
	github.com/syndtr/goleveldb => github.com/syndtr/goleveldb v1.0.1-0.20210819022825-2ae1ddf74ef7
)

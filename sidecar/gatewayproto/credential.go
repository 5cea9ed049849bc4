package gatewayproto

// Bandwidth credentials (PROTOCOL.md §6). A gateway that enforces
// credentials sends "bandwidth" {balance, nonce} right after the handshake;
// the client presents a credential with "credential" {theta, nonce}, a
// Coconut show bound to the gateway's identity and that nonce; the gateway
// answers "bandwidth" with the new balance and the next nonce, or an error
// frame with one of the codes below and the next nonce. Every nonce is used
// for one presentation only, so a recorded show is refused at this gateway
// (its nonce is stale) and at any other (it is bound to this one's identity).

const (
	// ThetaSize is the size of a bandwidth show (x/coconut/types.ThetaSize,
	// which a test checks): fixed here so that the wire format does not link
	// the chain's types.
	ThetaSize = 456
	// CredentialNonceSize is the gateway's nonce a show is bound to.
	CredentialNonceSize = 32
	// MaxOperatorSize bounds the operator's address in "bandwidth".
	MaxOperatorSize = 128
)

// Error codes about bandwidth (the "code" of an error frame). A refused
// credential changes no balance.
const (
	// CodeNoBandwidth: a packet was not forwarded because the client's
	// balance is spent; present the next credential.
	CodeNoBandwidth = "no_bandwidth"
	// CodeCredentialMalformed: the show does not decode.
	CodeCredentialMalformed = "credential_malformed"
	// CodeCredentialForeignKey: the show verifies under no key the chain
	// issues with, or not for this gateway, operator and chain.
	CodeCredentialForeignKey = "credential_foreign_key"
	// CodeCredentialReplayed: the show is bound to a nonce that is not the
	// gateway's current one for this session (a recorded show).
	CodeCredentialReplayed = "credential_replayed"
	// CodeCredentialSpent: the credential's spend tag was already spent,
	// here or on chain.
	CodeCredentialSpent = "credential_spent"
	// CodeCredentialExpired: the credential was issued under a key the chain
	// no longer accepts spends for.
	CodeCredentialExpired = "credential_expired"
	// CodeChainUnavailable: the gateway cannot check the credential on chain
	// now; it grants nothing on an unchecked credential. Try again later.
	CodeChainUnavailable = "chain_unavailable"
	// CodeCredentialBusy: a credential of this session is still being
	// checked; wait for its answer.
	CodeCredentialBusy = "credential_busy"
)

package coconut

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"
)

// Full names of the module's services, as AutoCLI looks them up.
const (
	queryService = "nyx.coconut.v1.Query"
	msgService   = "nyx.coconut.v1.Msg"
)

func pos(fields ...string) []*autocliv1.PositionalArgDescriptor {
	out := make([]*autocliv1.PositionalArgDescriptor, len(fields))
	for i, f := range fields {
		out[i] = &autocliv1.PositionalArgDescriptor{ProtoField: f}
	}
	return out
}

// AutoCLIOptions gives the CLI for every Msg and Query. Byte fields (requests,
// shows, tags) take hex or base64.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: queryService,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the module's params"},
				{RpcMethod: "VerificationKey", Use: "verification-key", Short: "Show the current issuing key, master and partial keys (--key-id for an older one)"},
				{RpcMethod: "Request", Use: "request <request-id>", Short: "Show a credential request and its partial signatures", PositionalArgs: pos("request_id")},
				{RpcMethod: "SpendTag", Use: "spend-tag <tag>", Short: "Show whether a spend tag (hex or base64) was spent", PositionalArgs: pos("tag")},
				{RpcMethod: "DKGRound", Use: "dkg-round", Short: "Show the DKG params and the latest DKG round (participants, phase, heights)"},
				{RpcMethod: "Stats", Use: "stats", Short: "Show the credential counts: requested, issued, spent, deposits and payouts, in total and per issuing key (--key-id for one key)"},
				{RpcMethod: "Beacon", Use: "beacon <epoch>", Short: "Show an x/mixnet epoch's beacon (or the partials recorded while it forms)", PositionalArgs: pos("epoch")},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: msgService,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod:      "RequestCredential",
					Use:            "request-credential <blind-sign-request> <value> <credential-type> <deposit>",
					Short:          "Pay a deposit for a bandwidth credential (value = deposit x bytes_per_unym)",
					Long:           "Pay a deposit for a bandwidth credential. The blind sign request (hex or base64) must be made on the public attributes value and credential type, which must be those the deposit buys at the current params (types.CredentialTypeName).",
					PositionalArgs: pos("blind_sign_request", "value", "credential_type", "deposit"),
				},
				{
					RpcMethod: "SpendCredentials", Use: "spend-credentials <entry-json>...",
					Short:          "Redeem credentials shown to your gateway and be paid their deposits",
					Long:           "Each entry is a JSON object like '{\"theta\":\"<base64>\",\"gateway_identity\":\"<base64>\",\"nonce\":\"<base64>\"}'.",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "entries", Varargs: true}},
				},
				{RpcMethod: "UpdateParams", Use: "update-params-proposal <params>", Short: "Propose new module params (the whole params object)", PositionalArgs: pos("params"), GovProposal: true},
				{RpcMethod: "StartDKG", Use: "start-dkg-proposal", Short: "Propose a new DKG round with the current validators (--params to change the DKG params)", GovProposal: true},
			},
		},
	}
}

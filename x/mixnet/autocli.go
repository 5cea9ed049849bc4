package mixnet

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"
)

// Full names of the module's services, as AutoCLI looks them up.
const (
	queryService = "nyx.mixnet.v1.Query"
	msgService   = "nyx.mixnet.v1.Msg"
)

func pos(fields ...string) []*autocliv1.PositionalArgDescriptor {
	out := make([]*autocliv1.PositionalArgDescriptor, len(fields))
	for i, f := range fields {
		out[i] = &autocliv1.PositionalArgDescriptor{ProtoField: f}
	}
	return out
}

// AutoCLIOptions gives the CLI for every Msg and Query. Byte fields (keys,
// signature) take hex or base64.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: queryService,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the module's params"},
				{RpcMethod: "Node", Use: "node <node-id>", Short: "Show a bonded node", PositionalArgs: pos("node_id")},
				{RpcMethod: "NodeByIdentity", Use: "node-by-identity <identity-key>", Short: "Show the node with an identity key (hex or base64)", PositionalArgs: pos("identity_key")},
				{RpcMethod: "NodeByOwner", Use: "node-by-owner <owner>", Short: "Show the node bonded by an address", PositionalArgs: pos("owner")},
				{RpcMethod: "Nodes", Use: "nodes", Short: "List bonded nodes (--role to list one role's nodes)"},
				{RpcMethod: "Delegation", Use: "delegation <node-id> <delegator>", Short: "Show one delegation", PositionalArgs: pos("node_id", "delegator")},
				{RpcMethod: "NodeDelegations", Use: "node-delegations <node-id>", Short: "List the delegations to a node", PositionalArgs: pos("node_id")},
				{RpcMethod: "DelegatorDelegations", Use: "delegator-delegations <delegator>", Short: "List an address's delegations", PositionalArgs: pos("delegator")},
				{RpcMethod: "PendingOperatorReward", Use: "operator-reward <node-id>", Short: "Show a node's unwithdrawn operator reward", PositionalArgs: pos("node_id")},
				{RpcMethod: "PendingDelegatorReward", Use: "delegator-reward <node-id> <delegator>", Short: "Show a delegation's unwithdrawn reward", PositionalArgs: pos("node_id", "delegator")},
				{RpcMethod: "StakeSaturation", Use: "stake-saturation <node-id>", Short: "Show a node's stake saturation", PositionalArgs: pos("node_id")},
				{RpcMethod: "EpochStatus", Use: "epoch", Short: "Show the current epoch and interval"},
				{RpcMethod: "RoleAssignment", Use: "role <role>", Short: "List the nodes holding a role (e.g. ROLE_MIX_LAYER_1)", PositionalArgs: pos("role")},
				{RpcMethod: "Topology", Use: "topology", Short: "Show the current epoch and every node with a role"},
				{RpcMethod: "RewardPool", Use: "reward-pool", Short: "Show the reward pool and this interval's reward constants"},
				{RpcMethod: "Service", Use: "service <service-id>", Short: "Show an entry of the service directory", PositionalArgs: pos("service_id")},
				{RpcMethod: "ServiceByAddress", Use: "service-by-address <nym-address>", Short: "Show the service directory's entry for a client address", PositionalArgs: pos("nym_address")},
				{RpcMethod: "Services", Use: "services", Short: "List the service directory (--kind network-requester to list one kind)"},
				{RpcMethod: "SigningNonce", Use: "signing-nonce <address>", Short: "Show the nonce an owner's next bond signature must cover", PositionalArgs: pos("address")},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: msgService,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod:      "BondNode",
					Use:            "bond-node <pledge> <identity-key> <sphinx-key> <host> <mix-port> <clients-port> <http-port> <signature>",
					Short:          "Bond a node; the signature comes from the node's identity key (nym-node bonding-info)",
					Long:           "Bond a node. Keys and signature are hex or base64. --profit-margin (e.g. 0.2) and --interval-operating-cost (e.g. 40000000unym) set the cost params; each defaults to Nym's.",
					PositionalArgs: pos("pledge", "identity_key", "sphinx_key", "host", "mix_port", "clients_port", "http_port", "signature"),
				},
				{RpcMethod: "UnbondNode", Use: "unbond-node", Short: "Unbond your node at the end of the epoch"},
				{RpcMethod: "UpdateNodeConfig", Use: "update-node-config", Short: "Change your node's host or ports, or announce its next sphinx key (flags)"},
				{
					RpcMethod:      "AnnounceSphinxKey",
					Use:            "announce-sphinx-key <node-id> <next-sphinx-key> <epoch-id> <signature>",
					Short:          "Announce a node's next sphinx key, signed by its identity key (any account may submit it and pays the fee)",
					Long:           "Announce the sphinx key that replaces a node's current one at the next epoch boundary. The key and signature are hex or base64; the signature is the node's identity key's over the announcement in epoch <epoch-id>, which must be the current epoch or the one before.",
					PositionalArgs: pos("node_id", "next_sphinx_key", "epoch_id", "signature"),
				},
				{RpcMethod: "UpdateCostParams", Use: "update-cost-params", Short: "Queue new cost params for the next interval (--profit-margin 0.2, --interval-operating-cost 40000000unym)"},
				{RpcMethod: "PledgeMore", Use: "pledge-more <amount>", Short: "Raise your node's pledge at the end of the epoch", PositionalArgs: pos("amount")},
				{RpcMethod: "DecreasePledge", Use: "decrease-pledge <amount>", Short: "Lower your node's pledge at the end of the epoch", PositionalArgs: pos("amount")},
				{RpcMethod: "Delegate", Use: "delegate <node-id> <amount>", Short: "Delegate to a node from the end of the epoch", PositionalArgs: pos("node_id", "amount")},
				{RpcMethod: "Undelegate", Use: "undelegate <node-id> <amount>", Short: "Withdraw (part of) a delegation at the end of the epoch", PositionalArgs: pos("node_id", "amount")},
				{RpcMethod: "WithdrawOperatorReward", Use: "withdraw-operator-reward", Short: "Withdraw your node's operator reward"},
				{RpcMethod: "WithdrawDelegatorReward", Use: "withdraw-delegator-reward <node-id>", Short: "Withdraw a delegation's reward", PositionalArgs: pos("node_id")},
				{RpcMethod: "SubmitPerformance", Use: "submit-performance <epoch-id> <report-json>...", Short: "Submit performance reports (network monitors only)", Long: "Each report is a JSON object like '{\"node_id\":\"1\",\"performance\":\"0.95\"}'.", PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "epoch_id"}, {ProtoField: "reports", Varargs: true}}},
				{RpcMethod: "FundRewardPool", Use: "fund-reward-pool <amount>", Short: "Add unym to the reward pool", PositionalArgs: pos("amount")},
				{
					RpcMethod:      "AnnounceService",
					Use:            "announce-service <kind> <nym-address> <identity-signature>",
					Short:          "Announce a service (e.g. network-requester) at a client address in the service directory, paying the deposit",
					Long:           "Add a service to the chain's service directory. The account pays the service_deposit param (returned by withdraw-service); the address's gateway must be a bonded node. --description sets an optional short text (at most 256 bytes). The identity signature (hex or base64) is the address's identity key's over the chain id, this account, the kind, the address and the description: nym-network-requester announce makes and sends it, and nym-client sign-service prints it for other services.",
					PositionalArgs: pos("kind", "nym_address", "identity_signature"),
				},
				{RpcMethod: "WithdrawService", Use: "withdraw-service <service-id>", Short: "Remove your service from the directory and get its deposit back", PositionalArgs: pos("service_id")},
				{RpcMethod: "UpdateParams", Use: "update-params-proposal <params>", Short: "Propose new module params (the whole params object)", PositionalArgs: pos("params"), GovProposal: true},
			},
		},
	}
}

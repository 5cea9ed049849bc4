package vesting

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"
)

// Full names of the module's services, as AutoCLI looks them up.
const (
	queryService = "nyx.vesting.v1.Query"
	msgService   = "nyx.vesting.v1.Msg"
)

func pos(fields ...string) []*autocliv1.PositionalArgDescriptor {
	out := make([]*autocliv1.PositionalArgDescriptor, len(fields))
	for i, f := range fields {
		out[i] = &autocliv1.PositionalArgDescriptor{ProtoField: f}
	}
	return out
}

// AutoCLIOptions gives the CLI for every Msg and Query.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: queryService,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the module's params"},
				{RpcMethod: "Account", Use: "account <owner>", Short: "Show an owner's vesting account: schedule, vested, locked, spendable, withdrawn, pledged, delegated, free, pledge cap", PositionalArgs: pos("owner")},
				{RpcMethod: "Accounts", Use: "accounts", Short: "List the vesting accounts"},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: msgService,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod: "CreateVestingAccount",
					Use:       "create-vesting-account <owner> <amount> <start-time> <period-json>...",
					Short:     "Lock your unym in a vesting account for owner",
					Long: "Create owner's vesting account with amount (e.g. 8000000unym) from your balance. start-time is unix seconds; " +
						"each period is a JSON object like '{\"length_seconds\":\"7776000\",\"amount\":\"1000000\"}' (Nym's default: 8 periods of 3 months); " +
						"the amounts must add up to amount. --staking-delegate sets an address that may pledge and delegate but never withdraw.",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "owner"}, {ProtoField: "amount"}, {ProtoField: "start_time"}, {ProtoField: "periods", Varargs: true}},
				},
				{RpcMethod: "WithdrawVested", Use: "withdraw-vested <amount>", Short: "Withdraw vested coins that are not pledged or delegated", PositionalArgs: pos("amount")},
				{
					RpcMethod:      "BondNodeFromVesting",
					Use:            "bond-node-from-vesting <bond-json>",
					Short:          "Bond the owner's node with a pledge from the vesting account (owner or staking delegate)",
					Long:           "bond-json is x/mixnet's MsgBondNode as JSON (owner = the account's owner, the signature by the node's identity key for that owner).",
					PositionalArgs: pos("bond"),
				},
				{RpcMethod: "PledgeMoreFromVesting", Use: "pledge-more-from-vesting <owner> <amount>", Short: "Raise the owner's pledge from the vesting account", PositionalArgs: pos("owner", "amount")},
				{RpcMethod: "DelegateFromVesting", Use: "delegate-from-vesting <owner> <node-id> <amount>", Short: "Delegate the vesting account's coins to a node for the owner", PositionalArgs: pos("owner", "node_id", "amount")},
				{RpcMethod: "UndelegateFromVesting", Use: "undelegate-from-vesting <owner> <node-id> <amount>", Short: "Return delegated coins to the vesting account at the end of the epoch", PositionalArgs: pos("owner", "node_id", "amount")},
				{RpcMethod: "TransferOwnership", Use: "transfer-ownership <new-owner>", Short: "Give your vesting account to a new owner (nothing may be pledged or delegated)", PositionalArgs: pos("new_owner")},
				{RpcMethod: "SetStakingDelegate", Use: "set-staking-delegate [address]", Short: "Set (or, without an address, clear) the account's staking delegate", PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "staking_delegate", Optional: true}}},
				{RpcMethod: "UpdateParams", Use: "update-params-proposal <params>", Short: "Propose new module params (the whole params object)", PositionalArgs: pos("params"), GovProposal: true},
			},
		},
	}
}

// Package rewarding is the reward arithmetic of x/mixnet: how much the
// mixnet's reward pool emits per epoch, how much of it each node of the
// rewarded set earns, how a node's reward is split between its operator and
// its delegators, and how delegators' shares accumulate lazily so that an
// epoch costs O(nodes) and nothing per delegation.
//
// The package is pure: it touches no store, keeps no global state and does no
// I/O. Every quantity is a [math.Int] (coins, in the base denom) or a
// [math.LegacyDec] (18 decimal places); no float is used anywhere, so every
// validator computes bit-identical results. Every function returns an error
// for bad input instead of panicking, and a method that returns an error
// leaves its receiver and arguments unchanged.
//
// # The model, as the keeper uses it
//
//  1. At an interval boundary, build the interval's constants once with
//     [NewInterval] from the module [Params], the rewarded-set sizes, the
//     number of epochs per interval, the reward pool and the staking supply.
//     An [Interval] is cheap to rebuild, so the keeper stores only its inputs.
//  2. At an epoch boundary, for every node of the ending epoch's rewarded set,
//     call [Node.ApplyEpoch] with the node's performance and [Status]. It
//     credits the operator's share to [Node.OperatorReward], the delegators'
//     share to [Node.DelegatorPool], and advances the node's cumulative
//     [Node.UnitReward]. Nothing is done per delegation.
//  3. A delegation ([Delegation]) records the node's UnitReward when it was
//     last settled. Its pending reward is
//     floor(Amount × (node.UnitReward − delegation.UnitReward)). It is settled
//     (paid out, record moved to the current UnitReward) whenever it changes
//     ([Node.Delegate], [Node.Undelegate]) or its owner withdraws
//     ([Node.Settle]). The operator withdraws with [Node.WithdrawOperatorReward].
//
// # Formulas and their sources
//
// The formulas are those of Nym's mixnet contract (repository nymtech/nym,
// common/cosmwasm-smart-contracts/mixnet-contract/src/reward_params.rs and
// src/mixnode.rs, types IntervalRewardParams, RewardingParams and
// MixNodeRewarding), which implement section 6 of the Nym whitepaper and the
// paper "Reward Sharing for Mixnets" (Diaz, Halpin, Kiayias). Notation:
//
//	P      reward pool at the start of the interval
//	S      staking supply at the start of the interval
//	e      interval pool emission (Nym default 2%)
//	β      staking supply scale factor (Nym default 50%)
//	α      sybil resistance (Nym default 30%)
//	f      active set work factor (Nym default 10)
//	E      epochs per interval
//	k_a    active set size (entry + exit gateways + mix nodes), k_s standby set size, k = k_a + k_s
//
//	interval budget   B_I = P × e                               (IntervalRewardParams: reward_pool × interval_pool_emission)
//	epoch budget      B   = B_I / E                             (RewardingParams::apply_epochs_in_interval_change)
//	saturation point  N   = S × β / k                           (the staking supply scale factor read as Nym's docs define it:
//	                                                             the share of the staking supply that saturates the whole rewarded set)
//	standby work      ω_s = 1 / (f·k − (f−1)·k_s) = 1 / (f·k_a + k_s)   (IntervalRewardParams::standby_node_work)
//	active work       ω_a = f × ω_s                             (IntervalRewardParams::active_node_work)
//	bond saturation   σ'  = min(stake / N, 1)                   (MixNodeRewarding::bond_saturation)
//	pledge saturation λ'  = min(pledge / N, 1)                  (MixNodeRewarding::pledge_saturation)
//	node reward       R   = B × perf × σ' × (ω + α·λ'/k) / (1 + α)   (MixNodeRewarding::node_reward)
//
// Since k_a·ω_a + k_s·ω_s = 1 and λ' ≤ 1, a full rewarded set of saturated
// nodes with perfect performance earns exactly B per epoch, and any other set
// earns less: the remainder stays in the pool.
//
// The split (MixNodeRewarding::determine_reward_split):
//
//	cost      C = interval operating cost / E × perf      (the cost is pro-rated per epoch and, as in Nym, by performance)
//	if R ≤ C: the operator takes all of R and delegators get nothing;
//	otherwise, with profit Π = R − C, profit margin m and operator share s = pledge / stake:
//	operator  C + Π × (m + (1 − m) × s)
//	delegates R − operator, shared among delegations in proportion to their amounts.
//
// # Rounding (coins are never created)
//
// Every multiplication and division truncates (MulTruncate, QuoTruncate).
// The work factors, α/k and the budget are thus at most their exact values,
// and σ', λ' are capped at 1, so a rewarded set that fits the set sizes never
// earns more than the epoch budget B in total. A node's epoch reward is
// truncated to whole coins, R_int = floor(R); the operator's share is
// floor(operator) and the delegators get exactly R_int − floor(operator), so
// the node's split is exact in whole coins. The unit reward grows by
// (delegators' share) / (total delegations) truncated to 18 decimals, and a
// delegation's payout is floor(Amount × ΔUnitReward). Hence the sum of all
// delegator payouts of a node never exceeds what was put in its
// [Node.DelegatorPool]; what is left over there once every delegation has been
// settled is dust (less than one coin per settlement plus less than one coin
// per epoch), which [Node.TakeDust] hands back, for the keeper to return to
// the reward pool, once the node has no delegations left.
//
// # Compounding: none
//
// Nym compounds delegators' rewards into their delegations (its unit
// delegation grows with every reward). Nyx does not: rewards are paid into
// unwithdrawn balances, and stake (hence σ', λ' and the operator share s) is
// the pledge and the delegated principal only. This is the simpler correct
// choice: a delegation's value never depends on its history, the module
// account's balance is a plain sum of integer amounts (pledges + delegations
// + unwithdrawn rewards + pool), and a delegator who wants to compound
// withdraws and delegates again.
package rewarding

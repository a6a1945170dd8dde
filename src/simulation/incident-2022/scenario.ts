/**
 * The January 2022 incident as the replay stages it: the day, the prices of that day, the attacker's accounts, and
 * the published figures the closing table is set beside. Data only.
 */
export const INCIDENT_2022 = Object.freeze({
  /** The replay's simulated clock starts here; the attack begins ATTACK_AFTER_MS later. */
  start: '2022-01-17T00:00:00.000Z',
  attackAfterMs: 3 * 60 * 60_000,
  attackerAccounts: 483,
  /** Approximate USD closes of 17 January 2022 (CoinMarketCap daily close, rounded). */
  prices: Object.freeze({ BTC: '42250.55', ETH: '3212.30', LTC: '146.29', USDC: '1.0001' }),
  /** What the exchange published (and what it left out): the closing table's right-hand column. */
  published: Object.freeze({
    accounts: 483,
    eth_taken: '4836.26',
    btc_taken: '443.93',
    other_usd: '66200',
    total_usd: '34000000',
    halt_hours: 14,
    share_prevented: 'not stated ("the majority")',
    net_loss: 'not stated',
  }),
});

export const DEFAULT_ACCOUNTS = 10_000;
export const MAX_ACCOUNTS = 100_000;

import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ServiceContext } from '../services/context.ts';
import { type DomainGauges, domainGauges } from '../services/domain-gauges.ts';
import { onRuleHits } from '../services/risk/rule-hits.ts';

/** One registry per app, so several apps in one process (tests, the multi-node demo) don't collide. */
export function installMetrics(app: FastifyInstance, context: ServiceContext): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'drawbridge_' });
  installDomainGauges(registry, context);
  const duration = new Histogram({
    name: 'drawbridge_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      {
        method: request.method,
        // The route pattern, never the raw URL: ids in paths must not explode the label set.
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  installRuleHits(app, registry, context);
  return registry;
}

/**
 * Screening's rule results at committed confirmations, by rule, outcome and mode (active decides, shadow only
 * watches): a rule that suddenly fires often, or a shadow set that would reject much, shows here.
 */
function installRuleHits(app: FastifyInstance, registry: Registry, context: ServiceContext): void {
  const hits = new Counter({
    name: 'drawbridge_rule_hits_total',
    help: 'Screening rule results at confirmation, by rule, outcome and mode (active or shadow)',
    labelNames: ['rule', 'outcome', 'mode'] as const,
    registers: [registry],
  });
  const unsubscribe = onRuleHits(context, (results) => {
    for (const hit of results) hits.inc({ rule: hit.rule, outcome: hit.outcome, mode: hit.mode });
  });
  app.addHook('onClose', async () => {
    unsubscribe();
  });
}

/**
 * The domain's gauges, read from the database once per scrape (the first gauge's collect reads, the others use
 * that read). A scrape while the database is down reports the last values and the process metrics.
 */
function installDomainGauges(registry: Registry, context: ServiceContext): void {
  let reading: Promise<DomainGauges | undefined> | undefined;
  const read = () => {
    reading ??= domainGauges(context)
      .catch(() => undefined)
      .finally(() => setImmediate(() => (reading = undefined)));
    return reading;
  };
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    fill: (g: Gauge, d: DomainGauges) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const data = await read();
        if (data === undefined) return;
        this.reset();
        fill(this, data);
      },
    });
  gauge('drawbridge_withdrawals', 'Withdrawals in each open state', ['state'], (g, d) => {
    for (const w of d.withdrawals) g.set({ state: w.state }, w.count);
  });
  gauge(
    'drawbridge_withdrawals_oldest_age_seconds',
    'How long the oldest withdrawal in each open state has been in it',
    ['state'],
    (g, d) => {
      for (const w of d.withdrawals) g.set({ state: w.state }, w.oldestAgeSeconds);
    },
  );
  gauge(
    'drawbridge_outbox_messages',
    'Outbox messages not delivered, by channel and status',
    ['channel', 'status'],
    (g, d) => {
      for (const o of d.outbox) g.set({ channel: o.channel, status: o.status }, o.count);
    },
  );
  gauge('drawbridge_audit_unsealed_entries', 'Audit journal entries not yet in the hash chain', [], (g, d) =>
    g.set(d.unsealed.count),
  );
  gauge('drawbridge_audit_sealer_lag_seconds', 'Age of the oldest audit entry not yet sealed', [], (g, d) =>
    g.set(d.unsealed.oldestAgeSeconds),
  );
  gauge('drawbridge_active_halts', 'Halts in force', [], (g, d) => g.set(d.activeHalts));
  gauge(
    'drawbridge_open_incidents',
    'Incidents not closed, by status and severity',
    ['status', 'severity'],
    (g, d) => {
      for (const i of d.openIncidents) g.set({ status: i.status, severity: i.severity }, i.count);
    },
  );
  gauge(
    'drawbridge_containments_running',
    'Incident containments still running (one left after a crash stays here until resumed)',
    [],
    (g, d) => g.set(d.containments.running),
  );
  gauge(
    'drawbridge_containment_cancelled',
    'Withdrawals the running containments have cancelled so far',
    [],
    (g, d) => g.set(d.containments.cancelled),
  );
  gauge(
    'drawbridge_reimbursements_unpaid',
    'Incident reimbursements (one per withdrawal) not paid yet, by request status (requested: awaiting approval)',
    ['status'],
    (g, d) => {
      for (const status of ['requested', 'approved']) {
        g.set({ status }, d.unpaidReimbursements.find((r) => r.status === status)?.count ?? 0);
      }
    },
  );
  gauge(
    'drawbridge_deposits_awaiting_approval',
    'Deposits entered by hand and not yet approved (credited) by a second operator',
    [],
    (g, d) => g.set(d.depositsAwaitingApproval.count),
  );
  gauge(
    'drawbridge_deposits_awaiting_approval_oldest_age_seconds',
    'How long the oldest deposit awaiting a second operator has waited',
    [],
    (g, d) => g.set(d.depositsAwaitingApproval.oldestAgeSeconds),
  );
  gauge(
    'drawbridge_open_alerts',
    'Alerts not resolved, by state (open, acknowledged), severity and kind',
    ['state', 'severity', 'kind'],
    (g, d) => {
      for (const a of d.openAlerts) g.set({ state: a.state, severity: a.severity, kind: a.kind }, a.count);
    },
  );
  gauge(
    'drawbridge_monitor_feed_backlog',
    'Withdrawal changes the independent monitor has not checked yet',
    [],
    (g, d) => g.set(d.monitor.backlog),
  );
  gauge(
    'drawbridge_monitor_lag_seconds',
    "Age of the oldest change the monitor has not checked (nothing is released without the monitor's verdict)",
    [],
    (g, d) => g.set(d.monitor.lagSeconds),
  );
  gauge(
    'drawbridge_monitor_system_feed_backlog',
    'Ledger changes (feed=ledger) and chain payments (feed=chain) the monitor has not accounted for yet',
    ['feed'],
    (g, d) => {
      for (const f of d.monitor.systemFeeds) g.set({ feed: f.feed }, f.count);
    },
  );
  gauge(
    'drawbridge_monitor_system_feed_lag_seconds',
    'Age of the oldest ledger change (feed=ledger) or chain payment (feed=chain) the monitor has not accounted for',
    ['feed'],
    (g, d) => {
      for (const f of d.monitor.systemFeeds) g.set({ feed: f.feed }, f.lagSeconds);
    },
  );
  gauge(
    'drawbridge_price_age_seconds',
    "Age of each asset's newest price; past the staleness limit (24 h) its withdrawals are held",
    ['asset'],
    (g, d) => {
      for (const p of d.priceAges) g.set({ asset: p.asset }, p.ageSeconds);
    },
  );
  new Counter({
    name: 'drawbridge_monitor_findings_total',
    help: 'Critical findings of the independent monitor, by check',
    labelNames: ['check'],
    registers: [registry],
    async collect() {
      const data = await read();
      if (data === undefined) return;
      this.reset();
      for (const f of data.monitor.findings) this.inc({ check: f.check }, f.count);
    },
  });
  // Counted from the alerts table, not in this process: the monitor may raise them anywhere, and the count
  // survives restarts (alerts are never deleted, so it only grows).
  new Counter({
    name: 'drawbridge_alerts_raised_total',
    help: 'Alerts raised (a deduplicated raise bumps its alert and is not counted again), by severity and kind',
    labelNames: ['severity', 'kind'],
    registers: [registry],
    async collect() {
      const data = await read();
      if (data === undefined) return;
      this.reset();
      for (const a of data.alertsRaised) this.inc({ severity: a.severity, kind: a.kind }, a.count);
    },
  });
}

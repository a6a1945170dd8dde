import assert from 'node:assert/strict';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { type AttestationKeys, verifyReleaseAttestation } from 'drawbridge/attestation';
import { Webhook } from 'standardwebhooks';
import { WebhookCustodyTransport } from '../../src/adapters/custody/webhook-signer.ts';
import { destinationPolicy } from '../../src/adapters/webhooks/destination-policy.ts';
import { newWebhookSecret } from '../../src/adapters/webhooks/signing.ts';
import { systemClock } from '../../src/core/clock.ts';
import { CustodyHandover } from '../../src/services/custody/handover.ts';
import { settleBroadcast } from '../../src/services/withdrawals/settlement.ts';
import { callbacksAbout, findHandoff } from '../../src/store/custody-callbacks.ts';
import { conservationReport } from '../../src/store/ledger/index.ts';
import { api, auditEntries, forgetRateLimits } from '../support/customers.ts';
import { eachEngine } from '../support/each-engine.ts';
import {
  BTC_ADDRESS_2,
  balanceOf,
  confirmTotp,
  type ReadyCustomer,
  readyCustomer,
  releaseDue,
  requestBtc,
  withdrawalRow,
} from '../support/withdrawals.ts';

const LOOPBACK = destinationPolicy({ allowedHosts: [], allowLoopback: true });
const FIRST_USE_WINDOW_MS = 10 * 60_000;

type Mode = 'txid' | 'accepted' | 'accepted-silent' | 'refuse' | 'error' | 'hang' | 'huge';

interface Received {
  readonly webhookId: string;
  readonly raw: string;
  readonly body: Record<string, unknown> | undefined;
  readonly signatureOk: boolean;
  readonly attestationOk: boolean;
}

async function readAll(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function problem(response: ServerResponse, status: number, detail: string) {
  response.writeHead(status, { 'content-type': 'application/problem+json' });
  response.end(JSON.stringify({ type: 'about:blank', title: 'Refused', status, detail }));
}

/**
 * The integrator, as the README tells one to build it: a real HTTP server on loopback that checks the Standard
 * Webhooks signature of every instruction and runs the exported `verifyReleaseAttestation` with the pinned public
 * key before anything is signed, deduplicates on `webhook-id`, and reports status back with signed callbacks.
 */
class Integrator {
  readonly received: Received[] = [];
  mode: Mode = 'txid';
  url = '';
  readonly #server: Server;
  readonly #txids = new Map<string, string>();

  constructor(
    readonly outboundSecret: string,
    readonly callbackSecret: string,
    readonly publicKeys: AttestationKeys,
    readonly drawbridgeUrl: () => string,
  ) {
    this.#server = createServer((request, response) => {
      void this.#handle(request, response);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/custody/instructions`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  /** The `broadcast` callback an `accepted` answer promised, once sent and answered. */
  broadcastCallback: Promise<{ status: number }> | undefined;

  instructionsFor(withdrawalId: string): Received[] {
    return this.received.filter((r) => r.body?.withdrawal_id === withdrawalId);
  }

  txidFor(webhookId: string): string {
    return createHash('sha256').update(`chain:${webhookId}`).digest('hex');
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const raw = await readAll(request);
    const webhookId = String(request.headers['webhook-id']);
    let signatureOk = true;
    try {
      new Webhook(this.outboundSecret).verify(raw, request.headers as Record<string, string>);
    } catch {
      signatureOk = false;
    }
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    const attestationOk =
      body !== undefined &&
      verifyReleaseAttestation(
        this.publicKeys,
        body.attestation,
        body as unknown as Parameters<typeof verifyReleaseAttestation>[2],
      );
    this.received.push({ webhookId, raw, body, signatureOk, attestationOk });
    if (!signatureOk) return problem(response, 401, 'the webhook signature does not verify');
    if (!attestationOk) return problem(response, 422, 'the release attestation does not verify');
    const withdrawalId = String(body?.withdrawal_id);
    // Deduplicate on webhook-id: the same instruction again gets the same transaction, never a second payment.
    const txid = this.#txids.get(webhookId) ?? this.txidFor(webhookId);
    switch (this.mode) {
      case 'txid':
        this.#txids.set(webhookId, txid);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ txid }));
        return;
      case 'accepted':
        this.#txids.set(webhookId, txid);
        response.writeHead(202);
        response.end();
        // Broadcast a moment later, then say so with a signed callback.
        this.broadcastCallback = new Promise((resolve) => {
          setTimeout(() => {
            resolve(this.callback({ withdrawal_id: withdrawalId, status: 'broadcast', txid }));
          }, 100);
        });
        return;
      case 'accepted-silent':
        response.writeHead(202);
        response.end();
        return;
      case 'refuse':
        return problem(response, 422, 'the destination is on our deny list');
      case 'error':
        return problem(response, 503, 'signer maintenance');
      case 'hang':
        return; // never answers; the connection is closed when the server stops
      case 'huge':
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ txid, padding: 'x'.repeat(100_000) }));
        return;
    }
  }

  /** A signed status callback over real HTTP, as the integrator sends it (the reference library signs). */
  async callback(
    body: unknown,
    options: { secret?: string; id?: string; at?: Date; raw?: string; token?: string } = {},
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
    const raw = options.raw ?? JSON.stringify(body);
    const id =
      options.id ??
      `msg_${createHash('sha256').update(`${raw}:${Math.random()}`).digest('hex').slice(0, 24)}`;
    const at = options.at ?? new Date();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(options.secret ?? this.callbackSecret).sign(id, at, raw),
    };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const response = await fetch(`${this.drawbridgeUrl()}/v1/custody/callbacks`, {
      method: 'POST',
      headers,
      body: raw,
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : JSON.parse(text), headers: response.headers };
  }
}

/** A man in the middle between Drawbridge and the integrator that rewrites instructions. */
async function tamperingProxy(
  target: () => string,
  rewrite: (raw: string, headers: Record<string, string>) => { raw: string; headers: Record<string, string> },
): Promise<{ url: string; stop(): Promise<void> }> {
  const server = createServer((request, response) => {
    void (async () => {
      const raw = await readAll(request);
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'webhook-id', 'webhook-timestamp', 'webhook-signature']) {
        headers[name] = String(request.headers[name]);
      }
      const altered = rewrite(raw, headers);
      const forwarded = await fetch(target(), {
        method: 'POST',
        headers: altered.headers,
        body: altered.raw,
      });
      response.writeHead(forwarded.status, {
        'content-type': forwarded.headers.get('content-type') ?? 'application/json',
      });
      response.end(await forwarded.text());
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/custody/instructions`,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`webhook custody signer against a real integrator on ${engine}`, (on) => {
    let integrator: Integrator;
    let signer: CustodyHandover;
    const outboundSecret = newWebhookSecret();
    const callbackSecret = newWebhookSecret();
    const running = on.app({ custodyCallbackSecret: callbackSecret });
    let emails = 0;

    before(async () => {
      const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
      const keys = {
        release: pem(createPublicKey(running.context.releaseKey)),
        monitor: pem(running.context.monitorPublicKey),
      };
      integrator = new Integrator(outboundSecret, callbackSecret, keys, () => running.url);
      await integrator.start();
      signer = signerTo(integrator.url);
    });
    after(async () => {
      await integrator.stop();
    });
    beforeEach(async () => {
      integrator.mode = 'txid';
      await forgetRateLimits(running);
    });

    function signerTo(url: string, options: { timeoutMs?: number; acceptedWaitMs?: number } = {}) {
      // The webhook timestamp is checked against the receiver's wall clock, not the test's manual one.
      const transport = new WebhookCustodyTransport({
        clock: systemClock,
        url,
        destinations: LOOPBACK,
        secret: outboundSecret,
        callbackSecret,
        timeoutMs: options.timeoutMs ?? 2_000,
      });
      return new CustodyHandover({
        database: running.context.database,
        clock: systemClock,
        transport,
        acceptedWaitMs: options.acceptedWaitMs ?? 2_000,
      });
    }

    async function queued(amount = '0.25'): Promise<{ customer: ReadyCustomer; id: string }> {
      emails += 1;
      const customer = await readyCustomer(running, `custody${emails}@example.com`);
      const requested = await requestBtc(running, customer, amount);
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const confirmed = await confirmTotp(running, customer, requested.body.id);
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      assert.equal(confirmed.body.state, 'queued');
      return { customer, id: requested.body.id as string };
    }

    /** Queued, then the cancel window passes and the releaser hands it to `through`. */
    async function released(through: CustodyHandover = signer, amount = '0.25') {
      const withdrawal = await queued(amount);
      running.clock.advance(FIRST_USE_WINDOW_MS);
      await releaseDue(running.context, through);
      return withdrawal;
    }

    async function assertHeldNotVoided(customer: ReadyCustomer) {
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.7499', held: '0.2501' });
      const report = await conservationReport(running.context.database.db);
      assert.equal(report.ok, true, JSON.stringify(report.discrepancies));
    }

    test('end to end: released, instruction signed and attested, broadcast then confirmed by callback, settled with the hold posted', async () => {
      const { customer, id } = await released();
      const [instruction, ...more] = integrator.instructionsFor(id);
      assert.ok(instruction, 'the integrator received the instruction');
      assert.equal(more.length, 0);
      assert.equal(instruction.signatureOk, true);
      assert.equal(instruction.attestationOk, true, 'verifyReleaseAttestation accepts it');
      assert.equal(instruction.webhookId, `custody_${id}`, 'the webhook-id is stable per withdrawal');
      assert.deepEqual(Object.keys(instruction.body ?? {}), [
        'type',
        'withdrawal_id',
        'asset',
        'network',
        'amount',
        'destination',
        'attestation',
      ]);
      assert.equal(instruction.body?.type, 'custody.release_instruction');
      assert.equal(instruction.body?.amount, '25000000', 'base units');
      const txid = integrator.txidFor(instruction.webhookId);
      const row = await withdrawalRow(running, id);
      assert.equal(row.state, 'broadcast');
      assert.equal(row.txid, txid);

      const broadcast = await integrator.callback({ withdrawal_id: id, status: 'broadcast', txid });
      assert.equal(broadcast.status, 200, JSON.stringify(broadcast.body));
      assert.equal(broadcast.body.outcome, 'unchanged', 'the answer already said broadcast');
      assert.equal(await settleBroadcast(running.context, signer), 0, 'broadcast is not settled');
      assert.equal((await withdrawalRow(running, id)).state, 'broadcast');

      const confirmed = await integrator.callback({ withdrawal_id: id, status: 'confirmed', txid });
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      assert.deepEqual(confirmed.body, { withdrawal_id: id, status: 'confirmed', txid, outcome: 'applied' });
      assert.equal((await withdrawalRow(running, id)).state, 'broadcast', 'the callback only records');
      await settleBroadcast(running.context, signer);
      const done = await withdrawalRow(running, id);
      assert.equal(done.state, 'completed');
      assert.equal(done.txid, txid);
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.7499', held: '0' });
      const report = await conservationReport(running.context.database.db);
      assert.equal(report.ok, true, JSON.stringify(report.discrepancies));
      const applied = (await auditEntries(running, 'custody.callback_applied')).filter(
        (e) => e.subject === `withdrawal:${id}`,
      );
      assert.equal(applied.length, 1);
    });

    test('accepted (202) without a txid: the integrator’s signed broadcast callback brings it, then confirmed settles', async () => {
      integrator.mode = 'accepted';
      const { customer, id } = await released();
      const txid = integrator.txidFor(`custody_${id}`);
      // The pass that handed it over did not wait for the txid: the withdrawal stays released meanwhile.
      assert.equal((await withdrawalRow(running, id)).state, 'released');
      assert.equal((await integrator.broadcastCallback)?.status, 200);
      const pass = await releaseDue(running.context, signer);
      assert.equal(pass.pending, 0);
      assert.equal(integrator.instructionsFor(id).length, 1, 'an accepted instruction is not sent again');
      const row = await withdrawalRow(running, id);
      assert.equal(row.state, 'broadcast', JSON.stringify(row));
      assert.equal(row.txid, txid);
      const confirmed = await integrator.callback({ withdrawal_id: id, status: 'confirmed', txid });
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      await settleBroadcast(running.context, signer);
      assert.equal((await withdrawalRow(running, id)).state, 'completed');
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.7499', held: '0' });
    });

    test('a retried hand-over after a crash is the same message (webhook-id and bytes), and the integrator’s dedupe answers the same txid', async () => {
      const { id } = await released();
      const first = integrator.instructionsFor(id)[0];
      assert.ok(first?.body);
      const again = await signer.submit(first.body as unknown as Parameters<CustodyHandover['submit']>[0]);
      const [one, two] = integrator.instructionsFor(id);
      assert.equal(two?.webhookId, one?.webhookId);
      assert.equal(two?.raw, one?.raw);
      assert.equal(again.txid, (await withdrawalRow(running, id)).txid);
    });

    test('attack: a forged callback (signed with another secret) is a 401 and changes nothing', async () => {
      const { id } = await released();
      const txid = integrator.txidFor(`custody_${id}`);
      const before = await findHandoff(running.context.database.db, id);
      const forged = await integrator.callback(
        { withdrawal_id: id, status: 'confirmed', txid },
        { secret: newWebhookSecret() },
      );
      assert.equal(forged.status, 401);
      assert.equal(forged.body.code, 'UNAUTHENTICATED');
      // The outbound secret is not the callback secret: an instruction's signature cannot be turned around.
      const turned = await integrator.callback(
        { withdrawal_id: id, status: 'confirmed', txid },
        { secret: outboundSecret },
      );
      assert.equal(turned.status, 401);
      const unsigned = await fetch(`${running.url}/v1/custody/callbacks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ withdrawal_id: id, status: 'confirmed', txid }),
      });
      assert.equal(unsigned.status, 401);
      assert.deepEqual(await findHandoff(running.context.database.db, id), before);
      assert.deepEqual(await callbacksAbout(running.context.database.db, id), []);
      await settleBroadcast(running.context, signer);
      assert.equal((await withdrawalRow(running, id)).state, 'broadcast');
    });

    test('attack: a customer session is no way in; the route knows only the signature', async () => {
      const { customer, id } = await released();
      const txid = integrator.txidFor(`custody_${id}`);
      const withSession = await fetch(`${running.url}/v1/custody/callbacks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${customer.token}` },
        body: JSON.stringify({ withdrawal_id: id, status: 'confirmed', txid }),
      });
      assert.equal(withSession.status, 401);
      const forgedWithSession = await integrator.callback(
        { withdrawal_id: id, status: 'confirmed', txid },
        { secret: newWebhookSecret(), token: customer.token },
      );
      assert.equal(forgedWithSession.status, 401);
      assert.equal((await findHandoff(running.context.database.db, id))?.status, 'broadcast');
    });

    test('attack: a replayed callback gets the first answer and no second effect; another message under its id is a 409', async () => {
      const { id } = await released();
      const txid = integrator.txidFor(`custody_${id}`);
      const raw = JSON.stringify({ withdrawal_id: id, status: 'confirmed', txid });
      const first = await integrator.callback(undefined, { raw, id: 'msg_replay_1' });
      assert.equal(first.status, 200);
      const auditCount = (await auditEntries(running, 'custody.callback_applied')).length;
      const replayed = await integrator.callback(undefined, { raw, id: 'msg_replay_1' });
      assert.equal(replayed.status, 200);
      assert.deepEqual(replayed.body, first.body);
      assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
      assert.equal((await auditEntries(running, 'custody.callback_applied')).length, auditCount);
      assert.equal((await callbacksAbout(running.context.database.db, id)).length, 1);

      const reused = await integrator.callback(
        { withdrawal_id: id, status: 'failed', txid },
        { id: 'msg_replay_1' },
      );
      assert.equal(reused.status, 409, JSON.stringify(reused.body));
      assert.match(String(reused.body.detail), /already used for another message/);
      assert.equal((await findHandoff(running.context.database.db, id))?.status, 'confirmed');
      await settleBroadcast(running.context, signer);
      assert.equal((await withdrawalRow(running, id)).state, 'completed');
    });

    test('attack: the same callback fired many times at once has one effect; conflicting reports at once, one wins', async () => {
      const { id } = await released();
      const txid = integrator.txidFor(`custody_${id}`);
      const raw = JSON.stringify({ withdrawal_id: id, status: 'confirmed', txid });
      const at = new Date();
      const burst = await Promise.all(
        Array.from({ length: 6 }, () => integrator.callback(undefined, { raw, id: 'msg_burst_1', at })),
      );
      assert.deepEqual(
        burst.map((b) => b.status),
        [200, 200, 200, 200, 200, 200],
      );
      assert.equal(burst.filter((b) => b.headers.get('idempotent-replayed') !== 'true').length, 1);
      const applied = (await auditEntries(running, 'custody.callback_applied')).filter(
        (e) => e.subject === `withdrawal:${id}`,
      );
      assert.equal(applied.length, 1);

      const other = await released();
      const otherTxid = integrator.txidFor(`custody_${other.id}`);
      const race = await Promise.all([
        integrator.callback({ withdrawal_id: other.id, status: 'confirmed', txid: otherTxid }),
        integrator.callback({ withdrawal_id: other.id, status: 'failed', txid: otherTxid }),
      ]);
      assert.deepEqual(race.map((r) => r.status).sort(), [200, 409]);
      const final = await findHandoff(running.context.database.db, other.id);
      assert.equal(final?.status, race[0]?.status === 200 ? 'confirmed' : 'failed');
    });

    test('attack: a callback with a stale (or future) timestamp is a 401', async () => {
      const { id } = await released();
      const txid = integrator.txidFor(`custody_${id}`);
      const body = { withdrawal_id: id, status: 'confirmed', txid };
      const stale = await integrator.callback(body, { at: new Date(Date.now() - 10 * 60_000) });
      assert.equal(stale.status, 401);
      assert.match(String(stale.body.detail), /tolerance/);
      const future = await integrator.callback(body, { at: new Date(Date.now() + 10 * 60_000) });
      assert.equal(future.status, 401);
      assert.equal((await findHandoff(running.context.database.db, id))?.status, 'broadcast');
    });

    test('attack: a callback for an unknown withdrawal is a 404, for one never handed to custody a 409', async () => {
      const unknown = await integrator.callback({
        withdrawal_id: '00000000-0000-7000-8000-000000000000',
        status: 'confirmed',
        txid: 'aa',
      });
      assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
      emails += 1;
      const customer = await readyCustomer(running, `custody${emails}@example.com`);
      const requested = await requestBtc(running, customer, '0.1');
      assert.equal(requested.status, 201);
      const notHanded = await integrator.callback({
        withdrawal_id: requested.body.id,
        status: 'confirmed',
        txid: 'bb',
      });
      assert.equal(notHanded.status, 409, JSON.stringify(notHanded.body));
      assert.match(String(notHanded.body.detail), /never handed to custody/);
      assert.equal(await findHandoff(running.context.database.db, requested.body.id), undefined);
      assert.equal((await withdrawalRow(running, requested.body.id)).state, 'awaiting_confirmation');
      const refused = await auditEntries(running, 'custody.callback_refused');
      assert.ok(refused.some((e) => e.subject === `withdrawal:${requested.body.id}`));
    });

    test('attack: confirmed then failed is refused (409), recorded and audited, and the withdrawal still completes', async () => {
      const { customer, id } = await released();
      const txid = integrator.txidFor(`custody_${id}`);
      assert.equal((await integrator.callback({ withdrawal_id: id, status: 'confirmed', txid })).status, 200);
      const flip = await integrator.callback({ withdrawal_id: id, status: 'failed', txid });
      assert.equal(flip.status, 409, JSON.stringify(flip.body));
      assert.match(String(flip.body.detail), /already reported confirmed/);
      const back = await integrator.callback({ withdrawal_id: id, status: 'broadcast', txid });
      assert.equal(back.status, 409);
      const otherTxid = await integrator.callback({
        withdrawal_id: id,
        status: 'confirmed',
        txid: 'ff'.repeat(32),
      });
      assert.equal(otherTxid.status, 409);
      assert.match(String(otherTxid.body.detail), /differs/);
      const handoff = await findHandoff(running.context.database.db, id);
      assert.equal(handoff?.status, 'confirmed');
      assert.equal(handoff?.txid, txid);
      const recorded = await callbacksAbout(running.context.database.db, id);
      assert.deepEqual(recorded.map((r) => `${r.status} ${r.outcome} ${r.answer_code}`).sort(), [
        'broadcast refused 409',
        'confirmed applied 200',
        'confirmed refused 409',
        'failed refused 409',
      ]);
      const audited = (await auditEntries(running, 'custody.callback_refused')).filter(
        (e) => e.subject === `withdrawal:${id}`,
      );
      assert.equal(audited.length, 3);
      assert.equal(JSON.parse(audited[0]?.data ?? '{}').severity, 'critical');
      await settleBroadcast(running.context, signer);
      assert.equal((await withdrawalRow(running, id)).state, 'completed');
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.7499', held: '0' });
    });

    test('attack: failed then confirmed is refused; the failure leaves the withdrawal errored for an operator, never voided', async () => {
      const { customer, id } = await released();
      const txid = integrator.txidFor(`custody_${id}`);
      assert.equal((await integrator.callback({ withdrawal_id: id, status: 'failed', txid })).status, 200);
      const flip = await integrator.callback({ withdrawal_id: id, status: 'confirmed', txid });
      assert.equal(flip.status, 409);
      await settleBroadcast(running.context, signer);
      const row = await withdrawalRow(running, id);
      assert.equal(row.state, 'errored');
      await assertHeldNotVoided(customer);
    });

    test('integrator 5xx: errored with the outcome unknown, the hold kept (never voided)', async () => {
      integrator.mode = 'error';
      const { customer, id } = await released();
      const row = await withdrawalRow(running, id);
      assert.equal(row.state, 'errored');
      assert.match(String(row.reason), /^custody outcome unknown: HTTP 503: signer maintenance/);
      await assertHeldNotVoided(customer);
    });

    test('integrator timeout: errored with the outcome unknown, the hold kept', async () => {
      integrator.mode = 'hang';
      const { customer, id } = await released(signerTo(integrator.url, { timeoutMs: 300 }));
      const row = await withdrawalRow(running, id);
      assert.equal(row.state, 'errored');
      assert.match(String(row.reason), /^custody outcome unknown: .*timed out/);
      await assertHeldNotVoided(customer);
    });

    test('integrator answers 2xx with an oversized body, or accepts and never reports a txid: errored, outcome unknown', async () => {
      integrator.mode = 'huge';
      const huge = await released();
      const hugeRow = await withdrawalRow(running, huge.id);
      assert.equal(hugeRow.state, 'errored');
      assert.match(
        String(hugeRow.reason),
        /custody outcome unknown: HTTP 200 with an answer over 16384 bytes/,
      );
      integrator.mode = 'accepted-silent';
      const patient = signerTo(integrator.url, { acceptedWaitMs: 300 });
      const silent = await released(patient);
      assert.equal(
        (await withdrawalRow(running, silent.id)).state,
        'released',
        'accepted: the txid may come',
      );
      await new Promise((resolve) => setTimeout(resolve, 350));
      await releaseDue(running.context, patient);
      assert.equal(
        integrator.instructionsFor(silent.id).length,
        1,
        'an accepted instruction is not sent again',
      );
      const silentRow = await withdrawalRow(running, silent.id);
      assert.equal(silentRow.state, 'errored');
      assert.match(String(silentRow.reason), /no broadcast callback within 300 ms: outcome unknown/);
      await assertHeldNotVoided(silent.customer);
    });

    test('an instruction accepted without a txid holds up no other release: the same pass hands over the next one', async () => {
      integrator.mode = 'accepted-silent';
      const first = await queued();
      const second = await queued();
      running.clock.advance(FIRST_USE_WINDOW_MS);
      const pass = await releaseDue(running.context, signer);
      assert.equal(pass.released, 2);
      assert.equal(pass.pending, 2);
      for (const { id } of [first, second]) {
        assert.equal(integrator.instructionsFor(id).length, 1);
        assert.equal((await withdrawalRow(running, id)).state, 'released');
      }
      // Their callbacks come later, in either order; each is taken on the next pass.
      integrator.mode = 'txid';
      for (const { id } of [second, first]) {
        const txid = integrator.txidFor(`custody_${id}`);
        const sent = await integrator.callback({ withdrawal_id: id, status: 'broadcast', txid });
        assert.equal(sent.status, 200, JSON.stringify(sent.body));
      }
      const next = await releaseDue(running.context, signer);
      assert.equal(next.pending, 0);
      for (const { id } of [first, second]) {
        const row = await withdrawalRow(running, id);
        assert.equal(row.state, 'broadcast');
        assert.equal(row.txid, integrator.txidFor(`custody_${id}`));
        assert.equal(integrator.instructionsFor(id).length, 1, 'not sent again');
      }
    });

    test('integrator refuses (422 problem): errored with "custody refused" and the integrator’s reason', async () => {
      integrator.mode = 'refuse';
      const { customer, id } = await released();
      const row = await withdrawalRow(running, id);
      assert.equal(row.state, 'errored');
      assert.equal(row.reason, 'custody refused: HTTP 422: the destination is on our deny list');
      await assertHeldNotVoided(customer);
    });

    test('attack: an instruction altered in transit is refused by the integrator (signature, then attestation with a stolen secret)', async () => {
      // A relay that rewrites the destination without the secret: the Standard Webhooks signature fails.
      const naive = await tamperingProxy(
        () => integrator.url,
        (raw, headers) => ({
          raw: raw.replace(/"destination":"[^"]+"/, `"destination":"${BTC_ADDRESS_2}"`),
          headers,
        }),
      );
      // An insider holding the outbound secret rewrites the statement and the instruction alike and re-signs the
      // webhook: only the Ed25519 release attestation stands in the way.
      const insider = await tamperingProxy(
        () => integrator.url,
        (raw, headers) => {
          const body = JSON.parse(raw) as {
            destination: string;
            attestation: { statement: { destination: string } };
          };
          body.destination = BTC_ADDRESS_2;
          body.attestation.statement.destination = BTC_ADDRESS_2;
          const altered = JSON.stringify(body);
          const at = new Date();
          const id = headers['webhook-id'] as string;
          return {
            raw: altered,
            headers: {
              ...headers,
              'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
              'webhook-signature': new Webhook(outboundSecret).sign(id, at, altered),
            },
          };
        },
      );
      try {
        const viaRelay = await released(signerTo(naive.url));
        const relayed = integrator.instructionsFor(viaRelay.id);
        assert.deepEqual(
          relayed.map((r) => [r.signatureOk, r.attestationOk]),
          [[false, false]],
        );
        const relayRow = await withdrawalRow(running, viaRelay.id);
        assert.equal(relayRow.state, 'errored');
        assert.match(
          String(relayRow.reason),
          /^custody refused: HTTP 401: the webhook signature does not verify/,
        );
        await assertHeldNotVoided(viaRelay.customer);

        const viaInsider = await released(signerTo(insider.url));
        const tampered = integrator.instructionsFor(viaInsider.id);
        assert.deepEqual(
          tampered.map((r) => [r.signatureOk, r.attestationOk]),
          [[true, false]],
          'the webhook signature verified, the attestation did not',
        );
        const insiderRow = await withdrawalRow(running, viaInsider.id);
        assert.equal(insiderRow.state, 'errored');
        assert.equal(insiderRow.reason, 'custody refused: HTTP 422: the release attestation does not verify');
        await assertHeldNotVoided(viaInsider.customer);
      } finally {
        await naive.stop();
        await insider.stop();
      }
    });

    test('bad input: wrong shapes are a 400 naming the field (after the signature), never a 5xx', async () => {
      const { id } = await released();
      const cases: [unknown, string][] = [
        [{ status: 'confirmed', txid: 'aa' }, '/body/withdrawal_id'],
        [{ withdrawal_id: id, txid: 'aa' }, '/body/status'],
        [{ withdrawal_id: id, status: 'pending', txid: 'aa' }, '/body/status'],
        [{ withdrawal_id: id, status: 'broadcast' }, '/body/txid'],
        [{ withdrawal_id: id, status: 'confirmed', txid: 'not a txid!' }, '/body/txid'],
        [{ withdrawal_id: id, status: 'confirmed', txid: 42 }, '/body/txid'],
        [{ withdrawal_id: id, status: 'confirmed', txid: 'aa', amount: '1' }, '/body/amount'],
        [[id], '/body'],
        [{ withdrawal_id: 'x'.repeat(65), status: 'failed' }, '/body/withdrawal_id'],
      ];
      for (const [body, field] of cases) {
        const answer = await integrator.callback(body);
        assert.equal(answer.status, 400, JSON.stringify({ body, answer: answer.body }));
        assert.equal(answer.body.field, field, JSON.stringify(answer.body));
      }
      const notJson = await integrator.callback(undefined, { raw: '{"withdrawal_id":' });
      assert.equal(notJson.status, 400);
      assert.equal(notJson.body.field, '/body');
      const large = await integrator.callback(undefined, {
        raw: JSON.stringify({ pad: 'x'.repeat(20_000) }),
      });
      assert.equal(large.status, 413);
      const badHeaders = await fetch(`${running.url}/v1/custody/callbacks`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': 'a.b',
          'webhook-timestamp': '1700000000abc',
          'webhook-signature': 'v1,xyz',
        },
        body: '{}',
      });
      assert.equal(badHeaders.status, 401);
      const text = await fetch(`${running.url}/v1/custody/callbacks`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hello',
      });
      assert.ok(text.status >= 400 && text.status < 500, String(text.status));
      assert.equal((await findHandoff(running.context.database.db, id))?.status, 'broadcast');
    });
  });

  describeOn(`without the webhook signer, on ${engine}`, (on) => {
    const running = on.app();

    test('the callback route does not exist (404)', async () => {
      const answer = await api(running, 'POST', '/v1/custody/callbacks', {
        body: { withdrawal_id: 'x', status: 'failed' },
      });
      assert.equal(answer.status, 404);
    });
  });
}

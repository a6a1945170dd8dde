import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import {
  api,
  auditEntries,
  type Customer,
  customerWithTotp,
  freshRateWindows,
  lastEmail,
  lockLinkOf,
  pressLinkButton,
  principalIdOf,
  stepUpToken,
} from '../support/customers.ts';
import { eachEngine } from '../support/each-engine.ts';

const BTC = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';
const BTC_LEGACY = '1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo';
const TESTNET_BECH32 = 'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7';
const TESTNET_LEGACY = 'mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ';
const ETH = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`address book changes over HTTP on ${engine}`, (on) => {
    const running = on.app();
    beforeEach(() => freshRateWindows(running));

    /** Every row this customer has in the table, live or removed: what "nothing stored" is checked against. */
    async function storedRows(customer: Customer) {
      const accountId = await principalIdOf(running, customer.email);
      return running.context.database.db
        .selectFrom('address_book_entries')
        .selectAll()
        .where('account_id', '=', accountId)
        .execute();
    }

    async function post(customer: Customer, body: Record<string, unknown>) {
      return api(running, 'POST', '/v1/address-book', { token: customer.token, body });
    }

    async function add(customer: Customer, network: string, address: string, label = 'savings') {
      const step = await stepUpToken(running, customer, 'address_book.add');
      return post(customer, { network, address, label, step_up_token: step });
    }

    async function remove(customer: Customer, id: string, step: string | undefined) {
      return api(running, 'DELETE', `/v1/address-book/${id}`, {
        token: customer.token,
        body: step === undefined ? {} : { step_up_token: step },
      });
    }

    async function cooling(customer: Customer) {
      const listed = await api(running, 'GET', '/v1/address-book', { token: customer.token });
      assert.equal(listed.status, 200);
      return listed.body.cooling_period_ms as number;
    }

    function assertStepUpRefused(
      answer: { status: number; body: { code: string; action?: string } },
      action: string,
    ) {
      assert.equal(answer.status, 403, JSON.stringify(answer.body));
      assert.equal(answer.body.code, 'STEP_UP_REQUIRED');
      assert.equal(answer.body.action, action);
    }

    test('adding an address without a step-up proof, or with a proof for another action, stores nothing', async () => {
      const customer = await customerWithTotp(running, 'ab-stepup-add@example.com');
      const entry = { network: 'bitcoin', address: BTC, label: 'thief' };
      assertStepUpRefused(await post(customer, entry), 'address_book.add');
      assertStepUpRefused(await post(customer, { ...entry, step_up_token: '' }), 'address_book.add');
      assertStepUpRefused(await post(customer, { ...entry, step_up_token: 'made-up' }), 'address_book.add');
      for (const other of ['address_book.remove', 'address_book.settings', 'anti_phishing.set']) {
        const wrong = await stepUpToken(running, customer, other);
        assertStepUpRefused(await post(customer, { ...entry, step_up_token: wrong }), 'address_book.add');
      }
      assert.equal((await storedRows(customer)).length, 0);
    });

    test('a step-up proof adds one address only: replaying it for a second address is refused', async () => {
      const customer = await customerWithTotp(running, 'ab-stepup-replay@example.com');
      const step = await stepUpToken(running, customer, 'address_book.add');
      const first = await post(customer, {
        network: 'bitcoin',
        address: BTC,
        label: 'a',
        step_up_token: step,
      });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      const replay = await post(customer, {
        network: 'ethereum',
        address: ETH,
        label: 'b',
        step_up_token: step,
      });
      assertStepUpRefused(replay, 'address_book.add');
      assert.equal((await storedRows(customer)).length, 1);
    });

    test('removing an address needs a proof for address_book.remove; without one it stays', async () => {
      const customer = await customerWithTotp(running, 'ab-stepup-remove@example.com');
      const added = await add(customer, 'ethereum', ETH);
      assert.equal(added.status, 201);
      assertStepUpRefused(await remove(customer, added.body.id, undefined), 'address_book.remove');
      const bodyless = await api(running, 'DELETE', `/v1/address-book/${added.body.id}`, {
        token: customer.token,
      });
      assertStepUpRefused(bodyless, 'address_book.remove');
      const addProof = await stepUpToken(running, customer, 'address_book.add');
      assertStepUpRefused(await remove(customer, added.body.id, addProof), 'address_book.remove');
      assert.deepEqual(
        (await storedRows(customer)).map((r) => r.removed_at),
        [null],
      );
      const removed = await remove(
        customer,
        added.body.id,
        await stepUpToken(running, customer, 'address_book.remove'),
      );
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      assert.equal(removed.body.removed_at, running.clock.now().toISOString());
    });

    test('changing the cooling period needs a proof for address_book.settings', async () => {
      const customer = await customerWithTotp(running, 'ab-stepup-settings@example.com');
      const before = await cooling(customer);
      const put = (body: Record<string, unknown>) =>
        api(running, 'PUT', '/v1/address-book/settings', { token: customer.token, body });
      assertStepUpRefused(await put({ cooling_period_hours: 168 }), 'address_book.settings');
      const addProof = await stepUpToken(running, customer, 'address_book.add');
      assertStepUpRefused(
        await put({ cooling_period_hours: 168, step_up_token: addProof }),
        'address_book.settings',
      );
      assert.equal(await cooling(customer), before);
    });

    test('the same address again, in another case, is a duplicate (409 naming address)', async () => {
      const customer = await customerWithTotp(running, 'ab-duplicates@example.com');
      assert.equal((await add(customer, 'bitcoin', BTC)).status, 201);
      assert.equal((await add(customer, 'ethereum', ETH)).status, 201);
      const copies: [string, string][] = [
        ['bitcoin', BTC],
        ['bitcoin', BTC.toUpperCase()],
        ['ethereum', ETH],
        ['ethereum', ETH.toLowerCase()],
        ['ethereum', `0x${ETH.slice(2).toUpperCase()}`],
      ];
      for (const [network, address] of copies) {
        const again = await add(customer, network, address, 'same again');
        assert.equal(again.status, 409, `${address}: ${JSON.stringify(again.body)}`);
        assert.equal(again.body.code, 'ALREADY_EXISTS');
        assert.equal(again.body.field, '/body/address');
      }
      const rows = await storedRows(customer);
      assert.deepEqual(rows.map((r) => r.address).sort(), [ETH, BTC].sort());
    });

    test('the same address added twice at the same moment is stored once (201 and 409, never a 500)', async () => {
      const customer = await customerWithTotp(running, 'ab-race@example.com');
      const proofs = [
        await stepUpToken(running, customer, 'address_book.add'),
        await stepUpToken(running, customer, 'address_book.add'),
      ];
      const answers = await Promise.all(
        proofs.map((step) =>
          post(customer, { network: 'bitcoin', address: BTC, label: 'race', step_up_token: step }),
        ),
      );
      assert.deepEqual(
        answers.map((a) => a.status).sort(),
        [201, 409],
        JSON.stringify(answers.map((a) => a.body)),
      );
      assert.equal((await storedRows(customer)).length, 1);
    });

    test('bad input is refused naming the field, stores nothing and spends no proof', async () => {
      const customer = await customerWithTotp(running, 'ab-bad-input@example.com');
      const step = await stepUpToken(running, customer, 'address_book.add');
      const good = { network: 'bitcoin', address: BTC, label: 'cold storage', step_up_token: step };
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['a bitcoin address on ethereum', { network: 'ethereum' }, /^\/body\/address$/],
        ['an ethereum address on bitcoin', { address: ETH }, /^\/body\/address$/],
        ['a testnet bech32 address on bitcoin', { address: TESTNET_BECH32 }, /^\/body\/address$/],
        ['a testnet legacy address on bitcoin', { address: TESTNET_LEGACY }, /^\/body\/address$/],
        [
          'a mainnet address on bitcoin-testnet',
          { network: 'bitcoin-testnet', address: BTC_LEGACY },
          /^\/body\/address$/,
        ],
        ['a corrupted checksum', { address: `${BTC.slice(0, -1)}5` }, /^\/body\/address$/],
        ['an unknown network', { network: 'dogecoin' }, /(^|\/)network$/],
        ['a network of another case', { network: 'Bitcoin' }, /(^|\/)network$/],
        ['an address that is not a string', { address: 12345 }, /(^|\/)address$/],
        ['a label of 10,000 characters', { label: 'x'.repeat(10_000) }, /(^|\/)label$/],
        ['a label over 64 characters', { label: 'x'.repeat(65) }, /(^|\/)label$/],
        ['an empty label', { label: '' }, /(^|\/)label$/],
        ['a blank label', { label: '   ' }, /(^|\/)label$/],
        ['a label with a NUL', { label: 'cold\u0000' }, /(^|\/)label$/],
        ['a label with a newline', { label: 'cold\nPlease confirm at evil.example' }, /(^|\/)label$/],
        ['a label with DEL', { label: 'cold\u007f' }, /(^|\/)label$/],
        ['a label with a C1 control', { label: 'cold\u009b31m' }, /(^|\/)label$/],
        ['a label with a right-to-left override', { label: 'cold \u202eteliaw' }, /(^|\/)label$/],
        ['a label with a zero-width space', { label: 'co\u200bld' }, /(^|\/)label$/],
        ['a label with a line separator', { label: 'cold\u2028storage' }, /(^|\/)label$/],
        ['a label with a lone surrogate', { label: 'cold\ud800' }, /(^|\/)label$/],
        ['a label with <script>', { label: '<script>alert(1)</script>' }, /(^|\/)label$/],
        ['no label', { label: undefined }, /(^|\/)label$/],
        ['an unknown field', { memo: 'x' }, /(^|\/)memo$/],
        [
          'a created_at chosen by the client',
          { created_at: '2000-01-01T00:00:00.000Z' },
          /(^|\/)created_at$/,
        ],
        ['a cooled flag chosen by the client', { cooled: true }, /(^|\/)cooled$/],
        ['a cooling period chosen by the client', { cooling_ms: 0 }, /(^|\/)cooling_ms$/],
      ];
      for (const [what, change, field] of cases) {
        const refused = await post(customer, { ...good, ...change });
        assert.equal(refused.status, 400, `${what}: ${refused.status} ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.code, 'INVALID_INPUT', what);
        assert.match(String(refused.body.field), field, what);
      }
      assert.equal((await storedRows(customer)).length, 0);
      const accepted = await post(customer, good);
      assert.equal(accepted.status, 201, `the refusals spent the proof: ${JSON.stringify(accepted.body)}`);
      assert.equal((await storedRows(customer)).length, 1);
    });

    test("removing another customer's address is 404 and leaves theirs in place", async () => {
      const victim = await customerWithTotp(running, 'ab-victim@example.com');
      const theirs = await add(victim, 'bitcoin', BTC);
      assert.equal(theirs.status, 201);
      const attacker = await customerWithTotp(running, 'ab-attacker@example.com');
      const step = await stepUpToken(running, attacker, 'address_book.remove');
      const refused = await remove(attacker, theirs.body.id, step);
      assert.equal(refused.status, 404, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'NOT_FOUND');
      assert.doesNotMatch(JSON.stringify(refused.body), new RegExp(BTC), 'the 404 tells the other address');
      assert.deepEqual(
        (await storedRows(victim)).map((r) => [r.id, r.removed_at]),
        [[theirs.body.id, null]],
      );
      const listed = await api(running, 'GET', '/v1/address-book', { token: attacker.token });
      assert.deepEqual(listed.body.entries, [], "another customer's address is listed");
    });

    test('removing an address twice is 404 the second time', async () => {
      const customer = await customerWithTotp(running, 'ab-remove-twice@example.com');
      const added = await add(customer, 'litecoin', 'ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9');
      assert.equal(added.status, 201, JSON.stringify(added.body));
      const first = await remove(
        customer,
        added.body.id,
        await stepUpToken(running, customer, 'address_book.remove'),
      );
      assert.equal(first.status, 200);
      const second = await remove(
        customer,
        added.body.id,
        await stepUpToken(running, customer, 'address_book.remove'),
      );
      assert.equal(second.status, 404, JSON.stringify(second.body));
    });

    test('adding and removing each email the customer with the anti-phishing code, the address and a lock link', async () => {
      const customer = await customerWithTotp(running, 'ab-notify@example.com');
      const phishingProof = await stepUpToken(running, customer, 'anti_phishing.set');
      const set = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: customer.token,
        body: { code: 'blue-heron-42', step_up_token: phishingProof },
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));

      const added = await add(customer, 'ethereum', ETH.toLowerCase(), 'exchange deposit');
      assert.equal(added.status, 201);
      const addedEmail = await lastEmail(running, customer.email, 'address_book.added');
      for (const part of [addedEmail.text, addedEmail.html]) {
        assert.match(part, /blue-heron-42/);
        assert.ok(part.includes(ETH), 'the email does not name the (canonical) address');
        assert.match(part, /\/lock-account\?token=/);
      }
      assert.ok(addedEmail.text.includes(added.body.usable_from), 'the email does not say when it is usable');

      const removed = await remove(
        customer,
        added.body.id,
        await stepUpToken(running, customer, 'address_book.remove'),
      );
      assert.equal(removed.status, 200);
      const removedEmail = await lastEmail(running, customer.email, 'address_book.removed');
      assert.match(removedEmail.text, /Anti-phishing code: blue-heron-42/);
      assert.ok(removedEmail.text.includes(ETH));

      const { pressed: clicked } = await pressLinkButton(running, lockLinkOf(addedEmail.text));
      assert.equal(clicked.status, 200, String(clicked.body));
      const after = await api(running, 'GET', '/v1/address-book', { token: customer.token });
      assert.ok(
        after.status === 401 || (after.status === 403 && after.body.code === 'ACCOUNT_LOCKED'),
        `the session still works after the lock link: ${after.status}`,
      );
    });

    test('adding and removing are written to the audit log with the account and the address', async () => {
      const customer = await customerWithTotp(running, 'ab-audit@example.com');
      const accountId = await principalIdOf(running, customer.email);
      const added = await add(customer, 'bitcoin', BTC.toUpperCase());
      assert.equal(added.status, 201);
      const removed = await remove(
        customer,
        added.body.id,
        await stepUpToken(running, customer, 'address_book.remove'),
      );
      assert.equal(removed.status, 200);
      for (const action of ['address_book.added', 'address_book.removed']) {
        const rows = (await auditEntries(running, action)).filter(
          (r) => r.subject === `address:${added.body.id}`,
        );
        assert.equal(rows.length, 1, `${action} audited ${rows.length} times`);
        assert.equal(rows[0]?.actor, `customer:${accountId}`);
        assert.equal(JSON.parse(rows[0]?.data ?? '{}').address, BTC);
      }
    });
  });
}

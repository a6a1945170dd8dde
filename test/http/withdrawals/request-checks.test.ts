import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { api, operatorWithSession, stepUpToken } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { BTC_ADDRESS_2, type ReadyCustomer, readyCustomer, requestBtc } from '../../support/withdrawals.ts';

// What a customer meets when they ask for a withdrawal that cannot go out as asked: one that can never pass is
// refused before they spend a code on it; one that will wait says so, and until when. The hold at confirmation,
// screening and the releaser remain the authority (release-guards and release-path-attacks test those).
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`asking for a withdrawal on ${engine}`, (on) => {
    const running = on.app();
    let customer: ReadyCustomer;
    const count = async () =>
      Number(
        (
          await running.context.database.db
            .selectFrom('withdrawals')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    before(async () => {
      // 1 BTC on deposit; the BTC fee is 0.0001 (WITHDRAWAL_FEES default).
      customer = await readyCustomer(running, 'asker@example.com', '1');
    });

    test('more than the balance (amount plus fee) is refused with what is available, and nothing is created', async () => {
      const before = await count();
      const answer = await requestBtc(running, customer, '1');
      assert.equal(answer.status, 409, JSON.stringify(answer.body));
      assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(answer.body.code, 'INSUFFICIENT_FUNDS');
      assert.equal(answer.body.available, '1');
      assert.equal(answer.body.required, '1.0001');
      assert.match(
        String(answer.body.detail),
        /1 BTC plus the 0\.0001 BTC fee is more than the 1 BTC available/,
      );
      assert.equal(await count(), before);
      // Exactly the balance less the fee is fine.
      const fits = await requestBtc(running, customer, '0.9999');
      assert.equal(fits.status, 201, JSON.stringify(fits.body));
      assert.deepEqual(fits.body.warnings, []);
    });

    test('an amount below the network fee is refused, naming the field', async () => {
      const answer = await requestBtc(running, customer, '0.00005');
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.code, 'INVALID_INPUT');
      assert.match(String(answer.body.detail), /below the network fee of 0\.0001 BTC/);
    });

    test('a destination still cooling is said at once, with when it will be usable', async () => {
      const proof = await stepUpToken(running, customer, 'address_book.add');
      const added = await api(running, 'POST', '/v1/address-book', {
        token: customer.token,
        body: { network: 'bitcoin', address: BTC_ADDRESS_2, label: 'New wallet', step_up_token: proof },
      });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      const answer = await requestBtc(running, { ...customer, destinationId: added.body.id }, '0.01');
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      assert.equal(answer.body.warnings.length, 1, JSON.stringify(answer.body.warnings));
      assert.equal(answer.body.warnings[0].code, 'destination_cooling');
      assert.equal(answer.body.warnings[0].usable_at, added.body.usable_from);
      assert.match(answer.body.warnings[0].detail, /time-locked until/);
    });

    test('a halt that covers the withdrawal is said at once; one that does not is not', async () => {
      const commander = await operatorWithSession(running, 'commander@ops.example', 'incident_commander');
      const halt = await api(running, 'POST', '/v1/operator/halts', {
        token: commander.token,
        body: { scope: 'asset', asset: 'ETH', reason: 'ETH node upgrade' },
      });
      assert.equal(halt.status, 201, JSON.stringify(halt.body));
      const unaffected = await requestBtc(running, customer, '0.01');
      assert.deepEqual(unaffected.body.warnings, []);

      const btc = await api(running, 'POST', '/v1/operator/halts', {
        token: commander.token,
        body: { scope: 'asset', asset: 'BTC', reason: 'incident drill' },
      });
      assert.equal(btc.status, 201, JSON.stringify(btc.body));
      const halted = await requestBtc(running, customer, '0.01');
      assert.equal(halted.status, 201, JSON.stringify(halted.body));
      assert.equal(halted.body.warnings[0].code, 'withdrawals_halted');
      assert.equal(halted.body.warnings[0].halt_id, btc.body.id);
      assert.match(halted.body.warnings[0].detail, /incident drill/);
      for (const id of [halt.body.id, btc.body.id]) {
        const lifted = await api(running, 'DELETE', `/v1/operator/halts/${id}`, { token: commander.token });
        assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
      }
    });
  });
}

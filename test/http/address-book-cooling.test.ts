import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import {
  api,
  type Customer,
  customerWithTotp,
  freshRateWindows,
  signInAgain,
  stepUpToken,
} from '../support/customers.ts';
import { eachEngine } from '../support/each-engine.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const BTC = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';
const BTC_LEGACY = '1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo';
const ETH = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';

const iso = (ms: number) => new Date(ms).toISOString();

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`address book cooling over HTTP on ${engine}`, (on) => {
    const running = on.app();
    beforeEach(() => freshRateWindows(running));

    async function addEntry(customer: Customer, network: string, address: string, label = 'my wallet') {
      const step = await stepUpToken(running, customer, 'address_book.add');
      const added = await api(running, 'POST', '/v1/address-book', {
        token: customer.token,
        body: { network, address, label, step_up_token: step },
      });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      return added.body as { id: string; created_at: string; usable_from: string; cooled: boolean };
    }

    async function book(customer: Customer) {
      const listed = await api(running, 'GET', '/v1/address-book', { token: customer.token });
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      return listed.body as {
        cooling_period_ms: number;
        entries: { id: string; created_at: string; usable_from: string; cooled: boolean }[];
      };
    }

    async function entryIn(customer: Customer, id: string) {
      const entry = (await book(customer)).entries.find((e) => e.id === id);
      assert.ok(entry, `entry ${id} is not listed`);
      return entry;
    }

    async function setCooling(customer: Customer, hours: unknown) {
      const step = await stepUpToken(running, customer, 'address_book.settings');
      return api(running, 'PUT', '/v1/address-book/settings', {
        token: customer.token,
        body: { cooling_period_hours: hours, step_up_token: step },
      });
    }

    /** Puts the clock at `at` with a live session (signing in again costs 30 s, taken from before `at`). */
    async function sessionAt(customer: Customer, at: number): Promise<Customer> {
      running.clock.set(new Date(at - 30_000));
      const again = await signInAgain(running, customer);
      assert.equal(running.clock.now().getTime(), at);
      return again;
    }

    test('an address added at T is not usable at T + 23:59:59 and is usable at T + 24:00:00', async () => {
      const customer = await customerWithTotp(running, 'cooling-24h@example.com');
      const added = await addEntry(customer, 'bitcoin', BTC);
      const t = Date.parse(added.created_at);
      assert.equal(t, running.clock.now().getTime(), 'created_at is the time of the request');
      assert.equal(added.cooled, false);
      assert.equal(added.usable_from, iso(t + DAY_MS));

      const later = await sessionAt(customer, t + DAY_MS - 1000);
      const almost = await entryIn(later, added.id);
      assert.equal(almost.cooled, false, 'usable a second early');
      assert.equal(almost.usable_from, iso(t + DAY_MS));

      running.clock.advance(1000);
      const cooled = await entryIn(later, added.id);
      assert.equal(cooled.cooled, true, 'not usable at T + 24 h');
      assert.equal(cooled.usable_from, iso(t + DAY_MS));
    });

    test('removing a cooled address and adding it again starts the cooling again', async () => {
      const customer = await customerWithTotp(running, 'cooling-readd@example.com');
      const first = await addEntry(customer, 'ethereum', ETH);
      const later = await sessionAt(customer, Date.parse(first.created_at) + DAY_MS);
      assert.equal((await entryIn(later, first.id)).cooled, true);

      const step = await stepUpToken(running, later, 'address_book.remove');
      const removed = await api(running, 'DELETE', `/v1/address-book/${first.id}`, {
        token: later.token,
        body: { step_up_token: step },
      });
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      const again = await addEntry(later, 'ethereum', ETH.toLowerCase());
      assert.notEqual(again.id, first.id);
      assert.equal(again.cooled, false, 'a re-added address inherited the old cooling');
      assert.equal(again.usable_from, iso(Date.parse(again.created_at) + DAY_MS));
      const listed = await book(later);
      assert.deepEqual(
        listed.entries.map((e) => [e.id, e.cooled]),
        [[again.id, false]],
      );
    });

    test('lengthening the cooling period applies at once, also to entries still cooling', async () => {
      const customer = await customerWithTotp(running, 'cooling-lengthen@example.com');
      const cooling = await addEntry(customer, 'bitcoin', BTC);
      const t = Date.parse(cooling.created_at);
      assert.equal((await book(customer)).cooling_period_ms, DAY_MS);

      const lengthened = await setCooling(customer, 72);
      assert.equal(lengthened.status, 200, JSON.stringify(lengthened.body));
      assert.equal(lengthened.body.cooling_period_ms, 72 * HOUR_MS);
      assert.equal(lengthened.body.effective_at, running.clock.now().toISOString());
      const now = await book(customer);
      assert.equal(now.cooling_period_ms, 72 * HOUR_MS);
      assert.equal(now.entries[0]?.usable_from, iso(t + 72 * HOUR_MS), 'the entry kept its 24 h');

      const dayLater = await sessionAt(customer, t + DAY_MS);
      assert.equal((await entryIn(dayLater, cooling.id)).cooled, false, 'usable after 24 h despite 72 h');
    });

    test('shortening the cooling period waits out the current period and never shortens older entries', async () => {
      const customer = await customerWithTotp(running, 'cooling-shorten@example.com');
      const before24 = await addEntry(customer, 'bitcoin', BTC);
      assert.equal((await setCooling(customer, 72)).status, 200);
      const under72 = await addEntry(customer, 'bitcoin', BTC_LEGACY);
      assert.equal(under72.usable_from, iso(Date.parse(under72.created_at) + 72 * HOUR_MS));

      const shortened = await setCooling(customer, 24);
      assert.equal(shortened.status, 200, JSON.stringify(shortened.body));
      const s = running.clock.now().getTime();
      assert.equal(shortened.body.effective_at, iso(s + 72 * HOUR_MS));
      assert.equal((await book(customer)).cooling_period_ms, 72 * HOUR_MS, 'shortened at once');

      const justBefore = await sessionAt(customer, s + 72 * HOUR_MS - 1000);
      const pending = await book(justBefore);
      assert.equal(pending.cooling_period_ms, 72 * HOUR_MS, 'shortened before the current period passed');
      running.clock.advance(1000);
      const done = await book(justBefore);
      assert.equal(done.cooling_period_ms, DAY_MS);
      const older = done.entries.find((e) => e.id === under72.id);
      assert.equal(older?.usable_from, under72.usable_from, 'an entry added under 72 h lost its cooling');
      const oldest = done.entries.find((e) => e.id === before24.id);
      assert.equal(oldest?.usable_from, iso(Date.parse(before24.created_at) + DAY_MS));
      const fresh24 = await addEntry(justBefore, 'ethereum', ETH);
      assert.equal(fresh24.usable_from, iso(Date.parse(fresh24.created_at) + DAY_MS));
    });

    test('a pending shortening is cancelled when the customer lengthens the period again', async () => {
      // A thief with the session and the second factor shortens the period; the customer, told by email,
      // sets it back. The thief's change must not take effect later anyway.
      const customer = await customerWithTotp(running, 'cooling-cancel@example.com');
      assert.equal((await setCooling(customer, 72)).status, 200);
      const shortened = await setCooling(customer, 24);
      assert.equal(shortened.status, 200);
      const pendingAt = Date.parse(shortened.body.effective_at);
      const restored = await setCooling(customer, 72);
      assert.equal(restored.status, 200, JSON.stringify(restored.body));
      assert.equal(restored.body.effective_at, running.clock.now().toISOString());

      const after = await sessionAt(customer, pendingAt + 60_000);
      assert.equal(
        (await book(after)).cooling_period_ms,
        72 * HOUR_MS,
        'the cancelled shortening took effect',
      );
      const added = await addEntry(after, 'bitcoin', BTC);
      assert.equal(added.usable_from, iso(Date.parse(added.created_at) + 72 * HOUR_MS));
    });

    test('the newest shortening replaces a pending one rather than letting the older take effect first', async () => {
      const customer = await customerWithTotp(running, 'cooling-replace@example.com');
      assert.equal((await setCooling(customer, 72)).status, 200);
      const toDay = await setCooling(customer, 24);
      const firstAt = Date.parse(toDay.body.effective_at);
      const toTwoDays = await setCooling(customer, 48);
      assert.equal(toTwoDays.status, 200, JSON.stringify(toTwoDays.body));
      const secondAt = Date.parse(toTwoDays.body.effective_at);
      assert.equal(secondAt, running.clock.now().getTime() + 72 * HOUR_MS);

      const between = await sessionAt(customer, firstAt + 1000);
      assert.equal((await book(between)).cooling_period_ms, 72 * HOUR_MS, 'the replaced 24 h took effect');
      const afterwards = await sessionAt(customer, secondAt);
      assert.equal((await book(afterwards)).cooling_period_ms, 48 * HOUR_MS);
    });

    test('a thief who queues many shortenings cannot stop the customer from lengthening the period again', async () => {
      const customer = await customerWithTotp(running, 'cooling-flood@example.com');
      assert.equal((await setCooling(customer, 168)).status, 200);
      let refused: Awaited<ReturnType<typeof setCooling>> | undefined;
      let queued = 0;
      for (; queued <= 20 && refused === undefined; queued++) {
        const shortened = await setCooling(customer, 24);
        if (shortened.status !== 200) refused = shortened;
      }
      assert.ok(refused, 'shortenings were queued without bound');
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.equal(refused.body.field, '/body/cooling_period_hours');
      const restored = await setCooling(customer, 168);
      assert.equal(restored.status, 200, `the customer was locked out: ${JSON.stringify(restored.body)}`);

      const week = await sessionAt(customer, running.clock.now().getTime() + 169 * HOUR_MS);
      assert.equal((await book(week)).cooling_period_ms, 168 * HOUR_MS, 'a queued shortening took effect');
    });

    test('a cooling period outside 24..168 whole hours is refused, naming the field, and changes nothing', async () => {
      const customer = await customerWithTotp(running, 'cooling-range@example.com');
      const step = await stepUpToken(running, customer, 'address_book.settings');
      for (const hours of [23, 169, 1.5, 0, -24, '72', null]) {
        const refused = await api(running, 'PUT', '/v1/address-book/settings', {
          token: customer.token,
          body: { cooling_period_hours: hours, step_up_token: step },
        });
        assert.equal(refused.status, 400, `${hours}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.code, 'INVALID_INPUT');
        assert.match(refused.body.field, /(^|\/)cooling_period_hours$/, String(hours));
      }
      assert.equal((await book(customer)).cooling_period_ms, DAY_MS);
      // The refusals spent nothing: the same proof still makes a valid change.
      const valid = await api(running, 'PUT', '/v1/address-book/settings', {
        token: customer.token,
        body: { cooling_period_hours: 168, step_up_token: step },
      });
      assert.equal(valid.status, 200, JSON.stringify(valid.body));
      assert.equal((await book(customer)).cooling_period_ms, 168 * HOUR_MS);
    });
  });
}

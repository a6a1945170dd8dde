import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Prompter, readCredentials } from '../../src/cli/operator-auth.ts';
import { DomainError } from '../../src/core/errors.ts';

/** A terminal that answers from a script and remembers what it was asked. */
function terminal(answers: readonly string[], interactive = true) {
  const asked: { question: string; hidden: boolean }[] = [];
  const queue = [...answers];
  const prompter: Prompter = {
    interactive,
    async ask(question, { hidden }) {
      asked.push({ question, hidden });
      return queue.shift() ?? '';
    },
  };
  return { prompter, asked };
}

async function refusal(work: Promise<unknown>): Promise<DomainError> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof DomainError);
    return error;
  }
  assert.fail('expected a refusal');
}

describe('reading the CLI operator credentials', () => {
  test('a token in the environment wins, and nothing is asked', async () => {
    const { prompter, asked } = terminal([]);
    const credentials = await readCredentials(
      'halt set',
      { DRAWBRIDGE_OPERATOR_TOKEN: ' tok_123 \n', DRAWBRIDGE_OPERATOR_EMAIL: 'ops@example.com' },
      prompter,
    );
    assert.deepEqual(credentials, { kind: 'token', token: 'tok_123' });
    assert.deepEqual(asked, []);
  });

  test('on a terminal, what the environment lacks is asked for; password and code are not echoed', async () => {
    const { prompter, asked } = terminal(['  ops@example.com ', 'pass word', '123 456']);
    const credentials = await readCredentials('halt set', {}, prompter);
    assert.deepEqual(credentials, {
      kind: 'password',
      email: 'ops@example.com',
      password: 'pass word',
      totp: '123456',
    });
    assert.deepEqual(asked, [
      { question: 'Operator email: ', hidden: false },
      { question: 'Password: ', hidden: true },
      { question: 'Authenticator code: ', hidden: true },
    ]);

    const partly = terminal(['654321']);
    const mixed = await readCredentials(
      'deposit',
      {
        DRAWBRIDGE_OPERATOR_EMAIL: 'ops@example.com',
        DRAWBRIDGE_OPERATOR_PASSWORD: 'secret',
        DATABASE_URL: '',
      },
      partly.prompter,
    );
    assert.deepEqual(mixed, {
      kind: 'password',
      email: 'ops@example.com',
      password: 'secret',
      totp: '654321',
    });
    assert.deepEqual(
      partly.asked.map((a) => a.question),
      ['Authenticator code: '],
    );
  });

  test('without a terminal, one line names the command, what is missing and the other ways in', async () => {
    const { prompter, asked } = terminal([], false);
    const error = await refusal(
      readCredentials('halt set', { DRAWBRIDGE_OPERATOR_EMAIL: '' }, prompter, {
        hint: 'or halt with --break-glass --reason',
      }),
    );
    assert.equal(error.code, 'UNAUTHENTICATED');
    assert.equal(
      error.message,
      'halt set runs as an operator: set DRAWBRIDGE_OPERATOR_TOKEN (from `drawbridge operator login`), or ' +
        'DRAWBRIDGE_OPERATOR_EMAIL, DRAWBRIDGE_OPERATOR_PASSWORD and DRAWBRIDGE_OPERATOR_TOTP (missing: ' +
        'DRAWBRIDGE_OPERATOR_EMAIL, DRAWBRIDGE_OPERATOR_PASSWORD, DRAWBRIDGE_OPERATOR_TOTP), or run it on a ' +
        'terminal to be asked; or halt with --break-glass --reason',
    );
    assert.ok(!error.message.includes('\n'));
    assert.deepEqual(asked, []);
  });

  test('an empty answer at the prompt is refused; login never takes a token', async () => {
    const empty = terminal(['ops@example.com', '']);
    const error = await refusal(readCredentials('webhook add', {}, empty.prompter));
    assert.equal(error.code, 'UNAUTHENTICATED');
    assert.match(error.message, /no DRAWBRIDGE_OPERATOR_PASSWORD/);

    const { prompter } = terminal(['ops@example.com', 'secret', '111111']);
    const credentials = await readCredentials(
      'operator login',
      { DRAWBRIDGE_OPERATOR_TOKEN: 'tok' },
      prompter,
      {
        allowToken: false,
      },
    );
    assert.equal(credentials.kind, 'password');
  });
});

import { api, call } from '../api.ts';
import { problemOf } from '../problems.ts';
import { ProblemNotice, ProofForm, useAction } from '../ui.tsx';

/**
 * A change to security settings needs a fresh second factor for that one action: this asks for it, exchanges it
 * for a step-up token (POST /v1/auth/step-up) and hands the token to `onToken`, which makes the change.
 */
export function StepUp(props: {
  action: string;
  submitLabel: string;
  onToken: (token: string) => Promise<unknown>;
}) {
  const { busy, problem, run, setProblem } = useAction();
  return (
    <div className="step-up">
      <ProblemNotice problem={problem} />
      <ProofForm
        submitLabel={props.submitLabel}
        busy={busy}
        onPasskeyFailed={(error) => setProblem(problemOf(error))}
        passkeyChallenge={() =>
          call(api.POST('/v1/auth/step-up/passkey-challenge', { body: { action: props.action } })) as never
        }
        onProof={(proof) =>
          void run(async () => {
            const { step_up_token } = await call(
              api.POST('/v1/auth/step-up', { body: { action: props.action, proof: proof as never } }),
            );
            await props.onToken(step_up_token);
          })
        }
      />
    </div>
  );
}

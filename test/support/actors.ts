import type { OperatorRole } from '../../src/core/identity/operator-roles.ts';
import type { OperatorActor } from '../../src/services/identity/acting-operator.ts';

/**
 * An operator value for calling a service directly (setup in tests and benchmarks), as the API or CLI would pass
 * once it has authenticated someone; audit entries name it "operator:<id>". The service still checks the role.
 */
export function actingAs(role: OperatorRole, id = `test-${role}`): OperatorActor {
  return { kind: 'operator', id, role };
}

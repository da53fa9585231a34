// Evaluates generated key and IAM policies together, as AWS would, with @cloud-copilot/iam-simulate
// (AGPL: a dev dependency, used only by tests and dev tooling, never by the published code).
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { PolicyDocument } from "../components/policies";

export interface AccessRequest {
    principal: string;
    action: string;
    resource: string;
    /** The account that owns the resource. */
    resourceAccount: string;
    context: Record<string, string>;
    identityPolicies?: PolicyDocument[];
    resourcePolicy: PolicyDocument;
}

/** "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied"; throws when the simulator cannot judge the request fully. */
export async function decide(request: AccessRequest): Promise<string> {
    const result = await runSimulation(
        {
            request: {
                principal: request.principal,
                action: request.action,
                resource: { resource: request.resource, accountId: request.resourceAccount },
                contextVariables: request.context,
            },
            identityPolicies: (request.identityPolicies ?? []).map((policy, i) => ({ name: `identity-${i}`, policy })),
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            resourcePolicy: request.resourcePolicy,
        },
        {},
    );
    if (result.resultType === "error") throw new Error(`simulation rejected: ${JSON.stringify(result.errors)}`);
    if (result.resultType !== "single") throw new Error(`expected one resource, got ${result.resultType}`);
    // A context key the simulator did not apply would make an "Allowed" or "Denied" meaningless.
    const ignored = result.result.ignoredContextKeys ?? [];
    if (ignored.length > 0) throw new Error(`simulator ignored context keys ${ignored.join(", ")} for ${request.action}`);
    return result.overallResult;
}

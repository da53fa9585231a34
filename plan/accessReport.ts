// Who can do what on each key of a plan: the key policy and the target's IAM policies evaluated
// together with @cloud-copilot/iam-simulate (AGPL: dev tooling only), against the access model
// the program promises. Any request that must be allowed but is denied, or the reverse, fails.
import {
    PolicyDocument,
    TargetAccess,
    buildTargetKeyUsePolicy,
    drsServiceLinkedRoleArn,
    knownRegions,
    partitionOf,
    accountOf,
    accountRootArn,
    awsPrincipals,
    kmsKeyTypes,
} from "../components/policies";
import { Request, Via, accessModel, otherKeyOf, requestContext } from "./accessModel";
import { decide } from "./simulate";
import { type StagingKeyExport } from "../program/contract";
import { Plan, SynthResult } from "./plan";

export interface AccessCheck {
    /** account/Region of the key. */
    key: string;
    /** Who asks, in words. */
    who: string;
    /** The target account whose principal asks (its account, or its staging role's target). */
    target?: string;
    action: string;
    via: Via;
    grantForAwsResource?: boolean;
    /** Asked on another key of the account, which the target's policy does not name. */
    otherKey?: boolean;
    expected: "allow" | "deny";
    actual: "allow" | "deny" | "error";
    /** Why the simulator could not judge, when actual is error. */
    detail?: string;
}

/** A target account a key serves, with its staging role in the key's account. */
interface ServedTarget {
    accountId: string;
    stagingRoleArn: string;
}

interface KeyUnderTest {
    keyArn: string;
    accountId: string;
    region: string;
    keyPolicy: PolicyDocument;
    targets: ServedTarget[];
    targetAccess: TargetAccess;
}

interface Asker {
    who: string;
    target?: string;
    principal: string;
    identityPolicies: PolicyDocument[];
}

const everything: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [{ Sid: "Everything", Effect: "Allow", Action: "kms:*", Resource: "*" }],
};

/**
 * Evaluates the access matrix of every key in a plan and the plans it references, per target the
 * key serves. With several targets, each target's principals are also judged on the key policy
 * without that target's statements: they must get nothing there, so they use the key only as
 * themselves, never through another target's statements.
 */
export async function accessReport(result: SynthResult): Promise<AccessCheck[]> {
    const plans = allPlans(result);
    const keys = keysUnderTest(plans);
    if (keys.length === 0) throw new Error(`The plan of stack ${result.plan.stack} has no DRS keys to check.`);
    const checks: AccessCheck[] = [];
    for (const key of keys) {
        const partition = partitionOf(key.region);
        const e = accessModel(key.targetAccess);
        const several = key.targets.length > 1;
        const askers: [Asker, Request[], PolicyDocument][] = [
            [
                {
                    who: "staging DRS service-linked role",
                    principal: drsServiceLinkedRoleArn(partition, key.accountId),
                    identityPolicies: [],
                },
                e.stagingDrsService,
                key.keyPolicy,
            ],
        ];
        for (const target of key.targets) {
            const of = (who: string) => (several ? `${who} of target ${target.accountId}` : who);
            const targetAskers: [Asker, Request[]][] = [
                [{ who: of("DRS staging role"), principal: target.stagingRoleArn, identityPolicies: [] }, e.stagingRole],
                ...targetKeyUsers(plans, key, target.accountId).map((role): [Asker, Request[]] => [
                    { ...role, who: of(role.who) },
                    e.targetKeyUser,
                ]),
                [
                    {
                        who: of("another target role"),
                        principal: `arn:${partition}:iam::${target.accountId}:role/NotAKeyUser`,
                        identityPolicies: [],
                    },
                    e.otherTargetRole,
                ],
            ];
            for (const [asker, requests] of targetAskers) askers.push([{ ...asker, target: target.accountId }, requests, key.keyPolicy]);
            if (!several) continue;
            // The same principals on the key policy without this target's statements: nothing.
            const withoutThisTarget = withoutStatementsOf(key.keyPolicy, [
                accountRootArn(partition, target.accountId),
                target.stagingRoleArn,
            ]);
            for (const [asker, requests] of targetAskers) {
                askers.push([
                    { ...asker, target: target.accountId, who: `${asker.who}, through the other targets' statements only` },
                    requests.map((request) => ({ ...request, expected: "deny" })),
                    withoutThisTarget,
                ]);
            }
        }
        askers.push(
            [
                {
                    who: "staging role without KMS rights",
                    principal: `arn:${partition}:iam::${key.accountId}:role/AppServer`,
                    identityPolicies: [],
                },
                e.stagingNonAdmin,
                key.keyPolicy,
            ],
            [
                {
                    who: "staging administrator (IAM kms:*)",
                    principal: `arn:${partition}:iam::${key.accountId}:role/KeyAdministrator`,
                    identityPolicies: [everything],
                },
                e.stagingAdmin,
                key.keyPolicy,
            ],
            [
                {
                    who: "another account with kms:*",
                    principal: `arn:${partition}:iam::${outsiderAccount(key)}:role/Admin`,
                    identityPolicies: [everything],
                },
                e.outsider,
                key.keyPolicy,
            ],
        );
        for (const [asker, requests, keyPolicy] of askers) {
            for (const request of requests) checks.push(await check({ ...key, keyPolicy }, asker, request));
        }
    }
    return checks;
}

/** A key policy without the statements that name any of these principals. */
function withoutStatementsOf(policy: PolicyDocument, principals: string[]): PolicyDocument {
    return { ...policy, Statement: policy.Statement.filter((st) => !awsPrincipals(st).some((p) => principals.includes(p))) };
}

async function check(key: KeyUnderTest, asker: Asker, request: Request): Promise<AccessCheck> {
    const context = requestContext(request, accountOf(asker.principal)!, key.region, otherRegion(key.region));
    const base = { key: `${key.accountId}/${key.region}`, who: asker.who, ...(asker.target ? { target: asker.target } : {}), ...request };
    try {
        const decision = await decide({
            principal: asker.principal,
            action: request.action,
            resource: request.otherKey ? otherKeyOf(key.keyArn) : key.keyArn,
            resourceAccount: key.accountId,
            context,
            identityPolicies: asker.identityPolicies,
            resourcePolicy: key.keyPolicy,
        });
        return { ...base, actual: decision === "Allowed" ? "allow" : "deny" };
    } catch (err) {
        return { ...base, actual: "error", detail: (err as Error).message };
    }
}

function allPlans(result: SynthResult): Plan[] {
    return [result.plan, ...Object.values(result.references).flatMap(allPlans)];
}

/** Every key the plans export (a target stack re-exports its staging stacks' keys), once, with every target it serves. */
function keysUnderTest(plans: Plan[]): KeyUnderTest[] {
    const keys = new Map<string, KeyUnderTest>();
    for (const plan of plans) {
        const exported = (plan.outputs.stagingKeys ?? []) as StagingKeyExport[];
        for (const entry of exported) {
            const resource = plans
                .flatMap((p) => p.resources)
                .find((r) => (kmsKeyTypes as readonly string[]).includes(r.type) && r.state.arn === entry.keyArn);
            if (!resource) continue;
            // A staging stack of several targets lists them per key; otherwise the stack's one target.
            const targets = (entry.targetAccountIds ?? [plan.outputs.targetAccountId as string]).map((accountId) => ({
                accountId,
                stagingRoleArn: entry.stagingRoleArns?.[accountId] ?? entry.stagingRoleArn,
            }));
            const known = keys.get(entry.keyArn);
            if (known) {
                known.targets.push(...targets.filter((t) => !known.targets.some((k) => k.accountId === t.accountId)));
                continue;
            }
            keys.set(entry.keyArn, {
                keyArn: entry.keyArn,
                accountId: entry.accountId,
                region: entry.region,
                keyPolicy: JSON.parse(resource.inputs.policy as string),
                targets,
                targetAccess: plan.outputs.targetAccess as TargetAccess,
            });
        }
    }
    return [...keys.values()];
}

/**
 * The target roles of the plans, each with the key-use policies attached to it. A plan without
 * the target side (a staging stack) is judged against the policy the target stack would attach.
 */
function targetKeyUsers(plans: Plan[], key: KeyUnderTest, targetAccountId: string): Asker[] {
    const partition = partitionOf(key.region);
    const policies = new Map<string, PolicyDocument>();
    const attached = new Map<string, PolicyDocument[]>();
    for (const plan of plans) {
        for (const r of plan.resources) {
            if (r.type === "aws:iam/policy:Policy" && accountOf(String(r.state.arn)) === targetAccountId) {
                policies.set(r.state.arn as string, JSON.parse(r.inputs.policy as string));
            }
        }
        for (const r of plan.resources) {
            const policy = policies.get(r.inputs.policyArn as string);
            if (r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && policy) {
                attached.set(r.inputs.role as string, [...(attached.get(r.inputs.role as string) ?? []), policy]);
            }
        }
    }
    if (policies.size === 0) {
        const expected = buildTargetKeyUsePolicy({ keyArns: [key.keyArn], targetAccess: key.targetAccess });
        return [
            {
                who: "target key user (expected target policy)",
                principal: `arn:${partition}:iam::${targetAccountId}:role/TargetKeyUser`,
                identityPolicies: [expected],
            },
        ];
    }
    return [...attached].map(([role, docs]) => ({
        who: `target role ${role}`,
        principal: `arn:${partition}:iam::${targetAccountId}:role/${role}`,
        identityPolicies: docs,
    }));
}

function otherRegion(region: string): string {
    const partition = partitionOf(region);
    return knownRegions.find((r) => r !== region && partitionOf(r) === partition)!;
}

function outsiderAccount(key: KeyUnderTest): string {
    const taken = [key.accountId, ...key.targets.map((t) => t.accountId)];
    return ["999988887777", "999988887778", "999988887779"].find((a) => !taken.includes(a))!;
}

export function mismatches(checks: AccessCheck[]): AccessCheck[] {
    return checks.filter((c) => c.actual !== c.expected);
}

/** The matrix as a table, mismatches marked, and a closing count. */
export function formatAccessReport(checks: AccessCheck[]): string {
    const rows = checks.map((c) => [
        c.key,
        c.who,
        `${c.action} ${c.via}${c.grantForAwsResource === undefined ? "" : ` (grant for AWS resource: ${c.grantForAwsResource})`}${c.otherKey ? " on another key" : ""}`,
        c.expected,
        c.actual,
        c.actual === c.expected ? "ok" : `MISMATCH${c.detail ? `: ${c.detail}` : ""}`,
    ]);
    const header = ["key", "who", "request", "must", "is", ""];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) =>
        cells
            .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
            .join("  ")
            .trimEnd();
    const bad = mismatches(checks).length;
    return [line(header), ...rows.map(line), "", `Access report: ${checks.length} checks, ${bad} mismatch${bad === 1 ? "" : "es"}.`].join(
        "\n",
    );
}

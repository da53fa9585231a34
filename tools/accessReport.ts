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
    kmsKeyTypes,
} from "../components/policies";
import { Request, Via, accessModel, otherKeyOf, requestContext } from "./accessModel";
import { decide } from "./simulate";
import { Plan, SynthResult } from "./synth";

export interface AccessCheck {
    /** account/Region of the key. */
    key: string;
    /** Who asks, in words. */
    who: string;
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

interface KeyUnderTest {
    keyArn: string;
    accountId: string;
    region: string;
    stagingRoleArn: string;
    keyPolicy: PolicyDocument;
    targetAccountId: string;
    targetAccess: TargetAccess;
}

interface Asker {
    who: string;
    principal: string;
    identityPolicies: PolicyDocument[];
}

const everything: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [{ Sid: "Everything", Effect: "Allow", Action: "kms:*", Resource: "*" }],
};

/** Evaluates the access matrix of every key in a plan and the plans it references. */
export async function accessReport(result: SynthResult): Promise<AccessCheck[]> {
    const plans = allPlans(result);
    const keys = keysOf(plans);
    if (keys.length === 0) throw new Error(`The plan of stack ${result.plan.stack} has no DRS keys to check.`);
    const checks: AccessCheck[] = [];
    for (const key of keys) {
        const partition = partitionOf(key.region);
        const targetRoles = targetKeyUsers(plans, key);
        const askers: [Asker, Request[]][] = [];
        const e = accessModel(key.targetAccess);
        askers.push([
            { who: "staging DRS service-linked role", principal: drsServiceLinkedRoleArn(partition, key.accountId), identityPolicies: [] },
            e.stagingDrsService,
        ]);
        askers.push([{ who: "DRS staging role", principal: key.stagingRoleArn, identityPolicies: [] }, e.stagingRole]);
        for (const role of targetRoles) askers.push([role, e.targetKeyUser]);
        askers.push([
            {
                who: "another target role",
                principal: `arn:${partition}:iam::${key.targetAccountId}:role/NotAKeyUser`,
                identityPolicies: [],
            },
            e.otherTargetRole,
        ]);
        askers.push([
            {
                who: "staging role without KMS rights",
                principal: `arn:${partition}:iam::${key.accountId}:role/AppServer`,
                identityPolicies: [],
            },
            e.stagingNonAdmin,
        ]);
        askers.push([
            {
                who: "staging administrator (IAM kms:*)",
                principal: `arn:${partition}:iam::${key.accountId}:role/KeyAdministrator`,
                identityPolicies: [everything],
            },
            e.stagingAdmin,
        ]);
        askers.push([
            {
                who: "another account with kms:*",
                principal: `arn:${partition}:iam::${outsiderAccount(key)}:role/Admin`,
                identityPolicies: [everything],
            },
            e.outsider,
        ]);
        for (const [asker, requests] of askers) {
            for (const request of requests) checks.push(await check(key, asker, request));
        }
    }
    return checks;
}

async function check(key: KeyUnderTest, asker: Asker, request: Request): Promise<AccessCheck> {
    const context = requestContext(request, accountOf(asker.principal)!, key.region, otherRegion(key.region));
    const base = { key: `${key.accountId}/${key.region}`, who: asker.who, ...request };
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

/** Every key the plans export (a target stack re-exports its staging stacks' keys), once. */
function keysOf(plans: Plan[]): KeyUnderTest[] {
    const keys = new Map<string, KeyUnderTest>();
    for (const plan of plans) {
        const exported = (plan.outputs.stagingKeys ?? []) as {
            keyArn: string;
            accountId: string;
            region: string;
            stagingRoleArn: string;
        }[];
        for (const entry of exported) {
            const resource = plans
                .flatMap((p) => p.resources)
                .find((r) => (kmsKeyTypes as readonly string[]).includes(r.type) && r.state.arn === entry.keyArn);
            if (!resource || keys.has(entry.keyArn)) continue;
            keys.set(entry.keyArn, {
                keyArn: entry.keyArn,
                accountId: entry.accountId,
                region: entry.region,
                stagingRoleArn: entry.stagingRoleArn,
                keyPolicy: JSON.parse(resource.inputs.policy as string),
                targetAccountId: plan.outputs.targetAccountId as string,
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
function targetKeyUsers(plans: Plan[], key: KeyUnderTest): Asker[] {
    const partition = partitionOf(key.region);
    const policies = new Map<string, PolicyDocument>();
    const attached = new Map<string, PolicyDocument[]>();
    for (const plan of plans) {
        for (const r of plan.resources) {
            if (r.type === "aws:iam/policy:Policy" && accountOf(String(r.state.arn)) === key.targetAccountId) {
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
                principal: `arn:${partition}:iam::${key.targetAccountId}:role/TargetKeyUser`,
                identityPolicies: [expected],
            },
        ];
    }
    return [...attached].map(([role, docs]) => ({
        who: `target role ${role}`,
        principal: `arn:${partition}:iam::${key.targetAccountId}:role/${role}`,
        identityPolicies: docs,
    }));
}

function otherRegion(region: string): string {
    const partition = partitionOf(region);
    return knownRegions.find((r) => r !== region && partitionOf(r) === partition)!;
}

function outsiderAccount(key: KeyUnderTest): string {
    return ["999988887777", "999988887778"].find((a) => a !== key.accountId && a !== key.targetAccountId)!;
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

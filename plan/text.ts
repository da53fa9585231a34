// A plan in words: per account and Region the resources, as a tree by component like `pulumi preview`
// shows it, and every policy statement as a sentence.
import { PolicyDocument, PolicyStatement, parsePolicyDocument, parseRoleArn, providerAccountId } from "../components/policies";
import { plural } from "../config/text";
import { formatCost } from "./pricing";
import { formatCapacity } from "./quotas";
import { PlannedResource, SynthResult } from "./plan";
import { formatWaysBack, plannedWaysBack } from "./wayBack";
import { EstimateOptions, planDocument } from "./document";

export function formatPlanText(result: SynthResult): string {
    const { plan } = result;
    const lines = [`Plan of stack ${plan.stack} (project ${plan.project}): ${plan.resources.length} resources`];
    for (const name of Object.keys(result.references)) lines.push(`  reads stack ${name} (planned from its stack file)`);
    if (plan.secretConfigKeys.length > 0)
        lines.push(`  secrets (planned with "[secret]" in their place): ${plan.secretConfigKeys.join(", ")}`);
    const providers = new Map(plan.resources.filter((r) => r.type.startsWith("pulumi:providers:")).map((r) => [r.urn, r]));
    const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    const groups = new Map<string, PlannedResource[]>();
    for (const r of plan.resources) {
        if (r.type.startsWith("pulumi:providers:") || !r.provider) continue;
        const provider = providers.get(r.provider);
        const account = providerAccountId(provider?.inputs.allowedAccountIds) ?? "?";
        const where = `Account ${account}, ${regionOf(r, provider)}`;
        groups.set(where, [...(groups.get(where) ?? []), r]);
    }
    for (const [where, resources] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
        lines.push("", where);
        // The tree as `pulumi preview` shows it: each component, then its children indented.
        const shown = new Set<string>();
        const children = new Map<string, PlannedResource[]>();
        const roots: PlannedResource[] = [];
        const add = (r: PlannedResource) => {
            if (shown.has(r.urn)) return;
            shown.add(r.urn);
            const parent = r.parent ? byUrn.get(r.parent) : undefined;
            if (!parent) {
                roots.push(r);
                return;
            }
            children.set(parent.urn, [...(children.get(parent.urn) ?? []), r]);
            add(parent);
        };
        resources.forEach(add);
        const print = (r: PlannedResource, depth: number) => {
            const indent = "  ".repeat(depth + 1);
            lines.push(`${indent}${r.type} ${r.name}${r.state.arn ? `  ${r.state.arn}` : ""}`);
            const policy = policyOf(r);
            if (policy) lines.push(...policy.Statement.map((s) => `${indent}  - ${sentence(s, policyKindOf(r))}`));
            for (const child of sortByUrn(children.get(r.urn) ?? [])) print(child, depth + 1);
        };
        for (const root of sortByUrn(roots)) print(root, 0);
    }
    lines.push(...formatWaysBack(plannedWaysBack(plan.outputs)));
    lines.push(
        "",
        "Outputs:",
        ...JSON.stringify(plan.outputs, null, 2)
            .split("\n")
            .map((l) => `  ${l}`),
    );
    for (const [name, referenced] of Object.entries(result.references)) {
        lines.push("", `--- referenced stack ${name} ---`, formatPlanText(referenced));
    }
    return lines.join("\n");
}

/** What the plan (with the stacks it reads) costs a month, and how much of each quota it uses, in words. */
export function formatEstimate(result: SynthResult, options: EstimateOptions = {}): string {
    const { cost, capacity } = planDocument(result, options);
    return [...formatCost(cost), "", ...formatCapacity(capacity)].join("\n");
}

const sortByUrn = (resources: PlannedResource[]) => [...resources].sort((a, b) => a.urn.localeCompare(b.urn));

/**
 * Where a resource lives: IAM is global (per partition); every other resource in its own region
 * input, else its provider's Region (an aws-native resource has no region input: its provider's).
 */
function regionOf(r: PlannedResource, provider: PlannedResource | undefined): string {
    if (r.type.startsWith("aws:iam/")) return "global (IAM)";
    return (r.inputs.region as string | undefined) ?? (provider?.inputs.region as string | undefined) ?? "Region unknown";
}

/** Every policy document of a plan (key, IAM and trust policies), by resource name, for review as files. */
export function policyDocuments(result: SynthResult): Map<string, PolicyDocument> {
    const docs = new Map<string, PolicyDocument>();
    for (const r of result.plan.resources) {
        const policy = policyOf(r);
        if (policy) docs.set(r.name, policy);
    }
    for (const referenced of Object.values(result.references)) for (const [name, doc] of policyDocuments(referenced)) docs.set(name, doc);
    return docs;
}

function policyOf(r: PlannedResource): PolicyDocument | undefined {
    const text = r.type === "aws:iam/role:Role" ? r.inputs.assumeRolePolicy : r.inputs.policy;
    return typeof text === "string" ? parsePolicyDocument(text) : undefined;
}

/** What a policy is attached to, which its statements' Resource "*" and nouns refer to. */
export type PolicyKind = "key" | "trust" | "topic" | "identity";

function policyKindOf(r: PlannedResource): PolicyKind {
    if (r.type === "aws:kms/key:Key" || r.type === "aws:kms/replicaKey:ReplicaKey") return "key";
    if (r.type === "aws:iam/role:Role") return "trust";
    if (r.type === "aws:sns/topicPolicy:TopicPolicy") return "topic";
    return "identity";
}

/** What an ARN names, in words: key, alias, topic, role, ... (resource otherwise). */
function nounOf(arn: string): string {
    const [, , service = "", , , rest = ""] = arn.split(":");
    const type = rest.split("/")[0];
    if (service === "kms") return type === "alias" ? "alias" : "key";
    if (service === "sns") return "topic";
    if (service === "iam") return type || "resource";
    if (service === "events") return "rule";
    return "resource";
}

/** "on this key", "on 3 keys", "to 1 topic", "on every resource": the statement's resources in words. */
function resourceWords(s: PolicyStatement, kind: PolicyKind, preposition: string): string {
    const resources = s.Resource === undefined ? [] : [s.Resource].flat();
    if (resources.length === 0) return "";
    if (resources.includes("*")) return kind === "key" ? ` ${preposition} this key` : ` ${preposition} every resource`;
    const counts = new Map<string, number>();
    for (const arn of resources) counts.set(nounOf(arn), (counts.get(nounOf(arn)) ?? 0) + 1);
    return ` ${preposition} ${[...counts].map(([noun, n]) => plural(n, noun, noun.endsWith("s") ? `${noun}es` : `${noun}s`)).join(" and ")}`;
}

/** "Sid: who may do what, on which resources, under which conditions." */
export function sentence(s: PolicyStatement, kind: PolicyKind = "identity"): string {
    const who = s.Principal ? principalWords(s.Principal) : "the roles it is attached to";
    const actions = [s.Action].flat();
    let what: string;
    if (kind === "trust" && actions.includes("sts:AssumeRole")) what = `assume this role (${actions.join(", ")})`;
    else if (actions.length === 1 && actions[0] === "sns:Publish") what = `publish${resourceWords(s, kind, "to")}`;
    else what = `${actions.join(", ")}${resourceWords(s, kind, "on")}`;
    const conditions = conditionWords(s.Condition ?? {});
    const verb = s.Effect === "Allow" ? "may" : "may not";
    return `${s.Sid}: ${who} ${verb} ${what}${conditions.length ? `, ${conditions.join(", ")}` : ", with no condition"}.`;
}

function principalWords(principal: NonNullable<PolicyStatement["Principal"]>): string {
    if ("Service" in principal) return `the service ${[principal.Service].flat().join(", ")}`;
    return [principal.AWS]
        .flat()
        .map((arn) => {
            const root = /^arn:[\w-]+:iam::(\d{12}):root$/.exec(arn);
            if (root) return `account ${root[1]} (its IAM principals that have permission)`;
            const role = parseRoleArn(arn);
            if (role?.path.startsWith("/aws-service-role/")) return `the ${role.name} service-linked role of ${role.accountId}`;
            return role ? `role ${role.name} of ${role.accountId}` : arn;
        })
        .join(" and ");
}

function conditionWords(condition: NonNullable<PolicyStatement["Condition"]>): string[] {
    const words: string[] = [];
    for (const [operator, values] of Object.entries(condition)) {
        for (const [key, value] of Object.entries(values)) {
            const v = [value].flat().join(" or ");
            if (key === "kms:ViaService") words.push(`only through ${v}`);
            else if (key === "kms:CallerAccount") words.push(`only as account ${v}`);
            else if (key === "kms:GrantIsForAWSResource")
                words.push(operator === "BoolIfExists" ? "grants only for AWS resources" : "only grants for AWS resources");
            else words.push(`only when ${key} ${operatorWords(operator)} ${v}`);
        }
    }
    return words;
}

/** A condition operator in words: StringEquals "is", ArnLike "matches", ... (IfExists: "if present"). */
function operatorWords(operator: string): string {
    const base = operator.replace(/IfExists$/, "");
    const words =
        /(Equals|^Bool)$/.test(base) && !/Not/.test(base)
            ? "is"
            : /NotEquals$/.test(base)
              ? "is not"
              : /NotLike$/.test(base)
                ? "does not match"
                : /Like$/.test(base)
                  ? "matches"
                  : base.replace(/^(String|Arn|Numeric|Date)/, "").toLowerCase();
    return base === operator ? words : `${words} (if present)`;
}

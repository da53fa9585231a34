// A plan in words: per account and Region the resources, and every policy statement as a sentence.
import { PolicyDocument, PolicyStatement, parseRoleArn } from "../components/policies";
import { PlannedResource, SynthResult } from "./synth";

export function formatPlanText(result: SynthResult): string {
    const { plan } = result;
    const lines = [`Plan of stack ${plan.stack} (project ${plan.project}): ${plan.resources.length} resources`];
    for (const name of Object.keys(result.references)) lines.push(`  reads stack ${name} (planned from its stack file)`);
    const accountOf = providerAccounts(plan.resources);
    const groups = new Map<string, PlannedResource[]>();
    for (const r of plan.resources) {
        if (r.type.startsWith("pulumi:providers:") || !r.provider) continue;
        const where = `Account ${accountOf.get(r.provider) ?? "?"}, ${(r.inputs.region as string) ?? "global (IAM)"}`;
        groups.set(where, [...(groups.get(where) ?? []), r]);
    }
    for (const [where, resources] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
        lines.push("", where);
        for (const r of resources) {
            lines.push(`  ${r.type} ${r.name}${r.state.arn ? `  ${r.state.arn}` : ""}`);
            const policy = policyOf(r);
            if (policy) lines.push(...policy.Statement.map((s) => `    - ${sentence(s)}`));
        }
    }
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

function providerAccounts(resources: PlannedResource[]): Map<string, string> {
    return new Map(
        resources
            .filter((r) => r.type.startsWith("pulumi:providers:"))
            .map((r) => [r.urn, ((r.inputs.allowedAccountIds as string[] | undefined) ?? ["?"])[0]]),
    );
}

function policyOf(r: PlannedResource): PolicyDocument | undefined {
    const text = r.type === "aws:iam/role:Role" ? r.inputs.assumeRolePolicy : r.inputs.policy;
    return typeof text === "string" ? (JSON.parse(text) as PolicyDocument) : undefined;
}

/** "Sid: who may do what, on which resources, under which conditions." */
export function sentence(s: PolicyStatement): string {
    const who = s.Principal ? principalWords(s.Principal) : "the roles it is attached to";
    const actions = [s.Action].flat().join(", ");
    const resources = s.Resource === undefined || s.Resource === "*" ? "" : ` on ${[s.Resource].flat().length} key(s)`;
    const conditions = conditionWords(s.Condition ?? {});
    const verb = s.Effect === "Allow" ? "may" : "may not";
    return `${s.Sid}: ${who} ${verb} ${actions}${resources}${conditions.length ? `, ${conditions.join(", ")}` : ", with no condition"}.`;
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
            else words.push(`only when ${key} ${operator.replace(/^String|^Bool/, "").toLowerCase() || "equals"} ${v}`);
        }
    }
    return words;
}

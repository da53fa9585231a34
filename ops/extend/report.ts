// extend's words and exit code: the advice for servers DRS refuses (the default EBS key, the
// Marketplace roles), the plan and each server's result as printed, and exitCodeOf. Formatting
// only: nothing here calls AWS.
import { drsFailbackRoleNames } from "../../components/policies";
import { plural } from "../../config/text";
import { serverName } from "../aws/sourceServers";
import { ApplyOutcome, ExtendPlan, ExtendResult, KeyPlan, NotExtendable, ServerToExtend } from "./types";

/** What to do about a server on the default EBS key: align-servers on its staging stack, then extend again. */
export function defaultKeyAdvice(stagingStack: string | undefined, sourceServerID: string): string {
    return (
        `Move it onto the staging key first: npm run -s align-servers -- -s ${stagingStack ?? "<staging stack>"} --server ${sourceServerID} --apply ` +
        "(a full sync may follow), then run extend again."
    );
}

/** DRS's refusal of a server on the default key (ValidationException ... default EBS encryption key). */
const defaultKeyRefusal = /default EBS encryption key/i;

/** DRS's refusal of an EC2 source whose Marketplace licences it cannot read from the staging account. */
const marketplaceRefusal = /marketplace|licen[cs]e|DRSCrossAccount|right-sizing|failback/i;

/**
 * What to do when DRS refused to extend `server` with `message`: align-servers for the default key;
 * for Marketplace licences, the "Failback and in-AWS right-sizing" roles for the staging account
 * in the EC2 source's account (the DRS multi-account page). Undefined for any other refusal.
 */
export function refusalAdvice(
    message: string,
    server: ServerToExtend,
    stagingAccountId: string,
    stagingStack?: string,
): string | undefined {
    if (defaultKeyRefusal.test(message)) return defaultKeyAdvice(stagingStack, server.sourceServerID);
    if (!marketplaceRefusal.test(message)) return undefined;
    const source = server.originAccountId ? `account ${server.originAccountId}` : "the account the EC2 instance runs in";
    return (
        `An EC2 source with Marketplace licences from another account is extended only when that account has DRS's ` +
        `"Failback and in-AWS right-sizing" roles for ${stagingAccountId}: in ${source}, ${drsFailbackRoleNames(stagingAccountId).join(", ")}. ` +
        `Add ${stagingAccountId} as a trusted account with those roles there (DRS console, Settings, Trusted accounts), then run extend again.`
    );
}

const labels: Record<NotExtendable["reason"], string> = {
    "default-key": "cannot",
    "not-replicating": "not ready",
    "extension-error": "error",
    "not-listed": "not listed",
};

const column = (label: string) => label.padEnd(10);

function keyHeader(key: KeyPlan): string {
    const scope = `${key.stagingAccountId}/${key.region} -> ${key.targetAccountId}`;
    if (key.targetUnread) return `${scope}: not planned`;
    const selected = key.selected !== undefined ? ` (${key.selected} named by --server)` : "";
    const leftOut = key.leftOut.length > 0 ? `, ${key.leftOut.length} left out on purpose` : "";
    return (
        `${scope}: DRS lists ${key.extensible} as extensible${selected}; ${key.alreadyExtended.length} already extended, ` +
        `${key.toExtend.length} to extend, ${key.cannotExtend.length} not extended${leftOut}`
    );
}

function toExtendLine(s: ServerToExtend): string {
    const what = s.notChecked ? `not checked: ${s.notChecked}` : [s.replicationState, s.encryption].filter(Boolean).join(", ");
    return `  ${column("extend")} ${serverName(s)}: ${what}${s.warning ? `; warning: ${s.warning}` : ""}`;
}

/** The tags as printed: Key=value, in key order. */
export const describeTags = (tags: Record<string, string>) =>
    Object.keys(tags)
        .sort()
        .map((k) => `${k}=${tags[k]}`)
        .join(", ");

/** The plan in words: every server with a dry run; before an --apply, what will not be extended only. */
export function formatPlan(plan: ExtendPlan, apply: boolean): string {
    const lines = apply ? [] : ["Dry run: nothing is changed. Run again with --apply to extend the servers listed.", ""];
    for (const key of plan.keys) {
        lines.push(keyHeader(key));
        if (key.targetUnread) lines.push(`  The target side could not be read: ${key.targetUnread}. Nothing is extended from here.`);
        if (key.stagingUnread)
            lines.push(
                `  The staging account was not read: ${key.stagingUnread}.`,
                "  Planned from the target side alone: a server on the default EBS key or not replicating shows only when DRS refuses it.",
            );
        if (!apply) lines.push(...key.toExtend.map(toExtendLine));
        for (const n of key.cannotExtend) lines.push(`  ${column(labels[n.reason])} ${serverName(n)}: ${n.message}`);
        for (const l of key.leftOut) lines.push(`  ${column("left out")} ${serverName(l)}: target.unprotectedServers says: ${l.reason}`);
    }
    const toExtend = plan.keys.reduce((n, k) => n + k.toExtend.length, 0);
    if (toExtend > 0) lines.push("", `Tags on each extended server: ${describeTags(plan.tags)}.`);
    return lines.join("\n");
}

const resultLabels: Record<ExtendResult["status"], string> = {
    extended: "extended",
    created: "created",
    "extension-error": "error",
    skipped: "skipped",
    failed: "failed",
};

export function formatResult(r: ExtendResult): string {
    return `  ${column(resultLabels[r.status])} ${serverName(r)}: ${r.message}`;
}

/** The count of each result, in one line. */
export function summaryOf(results: ExtendResult[]): string {
    const count = (s: ExtendResult["status"]) => results.filter((r) => r.status === s).length;
    const created = count("created");
    const errors = count("extension-error");
    return (
        `${count("extended")} extended, ${count("skipped")} skipped (already extended), ${count("failed")} failed` +
        (errors > 0 ? `, ${plural(errors, "extension error")}` : "") +
        (created > 0 ? `, ${created} created and not yet seen extended` : "") +
        "."
    );
}

/**
 * Exit code: 2 could not run (an access stop before anything was done); 1 findings (servers to
 * extend in a dry run, servers that cannot be extended, a create that failed or ended in an
 * extension error, a run stopped with servers left); 3 when nothing failed but something could not
 * be checked (a target side unread, a server extended without its staging side read, a created
 * server not yet seen extended); 0 nothing to extend, or all extended.
 */
export function exitCodeOf(plan: ExtendPlan, outcome?: ApplyOutcome): number {
    if (outcome?.stopped) {
        const nothingDone = outcome.results.every((r) => r.status === "skipped");
        return nothingDone && outcome.stopped.reason === "access" ? 2 : 1;
    }
    const notExtendable = plan.keys.some((k) => k.cannotExtend.length > 0);
    const findings = outcome
        ? outcome.results.some((r) => r.status === "failed" || r.status === "extension-error")
        : plan.keys.some((k) => k.toExtend.length > 0);
    if (findings || notExtendable) return 1;
    const unchecked =
        plan.keys.some((k) => k.targetUnread || k.toExtend.some((s) => s.notChecked)) ||
        (outcome?.results.some((r) => r.status === "created") ?? false);
    return unchecked ? 3 : 0;
}

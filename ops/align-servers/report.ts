// align-servers' words and exit code: the caveats (also in --help), the plan and each move's
// result as printed, and exitCodeOf. Formatting only: nothing here calls AWS.
import { plural } from "../../config/text";
import { describeEncryption, serverName } from "../aws/sourceServers";
import { AlignmentPlan, ApplyOutcome, KeyPlan, MoveResult } from "./types";

export const caveat = [
    "Points in time taken before a move stay under the old key: keep that key until they expire.",
    "Snapshots under the AWS managed key aws/ebs can never be shared with another account.",
    "So a moved server is recoverable in the target account only from its first point in time on the new key.",
].join("\n");

/** Why moving every server at once is not the default to reach for. */
export const resyncCaveat = [
    "Until a moved server has resynced, it has no point in time on the new key: the target can recover it only from then on.",
    "Moving many servers at once resyncs them at once: bandwidth from the sources and staging storage multiply. --batch <n>",
    "moves n servers, waits until each is back on continuous replication with a point in time on the key, then the next n.",
].join("\n");

function keyHeader(key: KeyPlan): string {
    const scope = `${key.accountId}/${key.region} key ${key.keyArn}`;
    const selected = key.selected !== undefined ? ` (${key.selected} named by --server)` : "";
    const unencrypted = key.unencrypted.length > 0 ? `, ${key.unencrypted.length} unencrypted (not moved)` : "";
    return `${scope}: ${plural(key.replicating, "server")} replicate${key.replicating === 1 ? "s" : ""} here${selected}, ${key.alreadyOnKey} already on the key, ${key.toMove.length} to move${unencrypted}`;
}

/** The plan in words: with the servers for a dry run, the headers only before an --apply. */
export function formatPlan(plan: AlignmentPlan, apply: boolean): string {
    const lines = apply ? [] : ["Dry run: nothing is changed. Run again with --apply to move the servers listed.", ""];
    for (const key of plan.keys) {
        lines.push(keyHeader(key));
        if (key.refused) lines.push(`  Refused: ${key.refused} No server is moved onto it.`);
        for (const u of key.unreadable) lines.push(`  unreadable ${serverName(u)}: ${u.error}`);
        for (const r of key.resyncing) lines.push(`  resyncing ${serverName(r)}: on the key, but ${r.why}`);
        if (apply) continue;
        for (const m of key.toMove) {
            lines.push(`  ${serverName(m)}: ${describeEncryption(m)} -> ${m.newKeyArn}; a full sync may be required`);
        }
        for (const m of key.unencrypted)
            lines.push(
                `  warning: ${serverName(m)} replicates unencrypted (NONE): recoverable in the target without a key; not moved (--include-unencrypted moves it)`,
            );
        for (const old of key.oldKeys) lines.push(`  old key ${old.keyArn} (${plural(old.servers, "server")}): ${old.note}`);
    }
    return lines.join("\n");
}

export function formatResult(r: MoveResult): string {
    const what = r.status === "moved" ? `${r.message}, now on ${r.newKeyArn}; a full sync may be required` : r.message;
    return `  ${r.status.padEnd(7)} ${serverName(r)}: ${what}`;
}

/**
 * Exit code: 2 could not run (a key refused, stopped before anything moved); 1 findings (servers
 * to move in a dry run, a move that failed, a run stopped with servers left); 3 when nothing was
 * found but something could not be checked (an unreadable server, an old key's policy); 0 done.
 */
export function exitCodeOf(plan: AlignmentPlan, outcome?: ApplyOutcome): number {
    if (plan.keys.some((k) => k.refused)) return 2;
    if (outcome?.stopped) return outcome.stopped.moved === 0 && outcome.results.length === 0 && outcome.stopped.reason === "access" ? 2 : 1;
    const findings = outcome ? outcome.results.some((r) => r.status === "failed") : plan.keys.some((k) => k.toMove.length > 0);
    if (findings) return 1;
    const unchecked = plan.keys.some((k) => k.unreadable.length > 0 || k.oldKeys.some((o) => o.notChecked));
    return unchecked ? 3 : 0;
}

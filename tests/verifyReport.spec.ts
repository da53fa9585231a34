// scripts/verifyReport.ts, the verify workflow's report, run as the workflow runs it against
// verify's --json for each exit code, with fake gh and aws that record what it asks of them.
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { markerOf } from "../scripts/verifyReport";
import { Call, Fakes, Issue, fakes, goldenResults } from "./support/fakeTools";

const root = path.join(__dirname, "..");
const topic = "arn:aws:sns:eu-west-1:111122223333:dr-alerts";

type Result = ReturnType<typeof goldenResults>[number];
const passing = goldenResults(root);
/** The golden run with `changes` applied to the checks they name. */
const withChecks = (changes: Record<string, Partial<Result>>) => passing.map((r) => ({ ...r, ...changes[r.check] }));
const keyDisabled = {
    "key-state": {
        status: "FAIL",
        message: "Key arn:aws:kms:us-east-1:444455556666:key/1234 is Disabled | not Enabled\nreplication stops.",
        fix: "Enable it: aws kms enable-key --key-id 1234.",
    },
};
const templateUnchecked = {
    "replication-template": {
        status: "UNCHECKED",
        message: "Not checked: the credentials for 444455556666 were refused drs:DescribeReplicationConfigurationTemplates (AccessDenied).",
        fix: "Allow the call to the role verify uses there.",
    },
};
/** The description an earlier run left. */
const marker = (state: "findings" | "unchecked", keys: string[]) => `${markerOf(state, keys)}\nold body`;
const openIssue = (body: string, labels = ["verify"]): Issue => ({
    number: 12,
    title: "verify: staging",
    body,
    url: "https://github.com/acme/dr/issues/12",
    labels: labels.map((name) => ({ name })),
});

let env: Fakes;
before(() => (env = fakes(root)));
after(() => fs.rmSync(env.dir, { recursive: true, force: true }));

interface Case {
    exit: string;
    /** verify's stdout: results (written as JSON), text as is, or none (no file). */
    results?: Result[] | string;
    log?: string;
    issues?: Issue[];
    topic?: string;
    fail?: "gh" | "aws";
    args?: string;
}

/** Runs the report for stack `staging`; the calls by tool and subcommand ("gh issue create", "aws sns publish"). */
function report(c: Case) {
    const json = path.join(env.dir, "verify-staging.json");
    const log = path.join(env.dir, "verify-staging.log");
    fs.rmSync(json, { force: true });
    if (c.results !== undefined) fs.writeFileSync(json, typeof c.results === "string" ? c.results : JSON.stringify(c.results, null, 2));
    fs.writeFileSync(log, c.log ?? "");
    const ran = env.bash(
        `node -r sucrase/register/ts scripts/verifyReport.ts ${c.args ?? `--stack staging --exit "${c.exit}" --results verify-staging.json --log verify-staging.log`}`,
        { FAKE_ISSUES: JSON.stringify(c.issues ?? []), ALERT_TOPIC_ARN: c.topic ?? "", FAKE_FAIL: c.fail ?? "" },
    );
    const named = (call: Call) => [call.tool, ...call.args.slice(0, 2)].join(" ");
    const find = (name: string) => ran.calls.filter((call) => named(call) === name);
    return { ...ran, names: ran.calls.map(named), find, one: (name: string) => find(name)[0] };
}

const argAfter = (call: Call, flag: string) => call.args[call.args.indexOf(flag) + 1];

describe("scripts/verifyReport.ts (the verify workflow's report)", () => {
    it("exit 1, no open issue: opens one titled `verify: <stack>` with the label, naming each failing check in a table", () => {
        const r = report({ exit: "1", results: withChecks(keyDisabled) });
        expect(r.status, r.stderr).to.equal(0);
        expect(r.names).to.deep.equal(["gh issue list", "gh label create", "gh issue create"]);
        const list = r.one("gh issue list");
        expect([argAfter(list, "--state"), argAfter(list, "--label")]).to.deep.equal(["open", "verify"]);
        const create = r.one("gh issue create");
        expect([argAfter(create, "--title"), argAfter(create, "--label")]).to.deep.equal(["verify: staging", "verify"]);
        expect(create.file).to.include("**a check failed** (exit 1), as of [this run](https://github.com/acme/dr/actions/runs/42)");
        const passed = passing.filter((p) => p.status === "PASS").length - 1;
        expect(create.file).to.include(`${passed} passed, 1 failed, 0 warnings, 0 not checked.`);
        expect(create.file).to.include("| Status | Check | Scope | Message | Fix |");
        // The message's pipe escaped and its line break flattened: one row of the table.
        expect(create.file).to.include(
            "| FAIL | `key-state` | 444455556666/us-east-1 | Key arn:aws:kms:us-east-1:444455556666:key/1234 is Disabled \\| not Enabled replication stops. | Enable it: aws kms enable-key --key-id 1234. |",
        );
        expect(create.file).not.to.include("| PASS |");
        expect(r.summary).to.include("### verify: staging: a check failed (exit 1)");
        expect(r.summary).to.include("| FAIL | `key-state` |");
    });

    it("with ALERT_TOPIC_ARN: publishes the new failure to the topic, in the topic's Region, naming the checks and the issue", () => {
        const r = report({ exit: "1", results: withChecks(keyDisabled), topic });
        expect(r.status, r.stderr).to.equal(0);
        expect(r.names).to.deep.equal(["gh issue list", "gh label create", "gh issue create", "aws sns publish"]);
        const sns = r.one("aws sns publish");
        expect([argAfter(sns, "--region"), argAfter(sns, "--topic-arn"), argAfter(sns, "--subject")]).to.deep.equal([
            "eu-west-1",
            topic,
            "verify: staging: a check failed",
        ]);
        expect(sns.file).to.include("FAIL  444455556666/us-east-1  key-state\n  Key arn:aws:kms");
        expect(sns.file).to.include("  fix: Enable it: aws kms enable-key --key-id 1234.");
        expect(sns.file).to.include("Issue: https://github.com/acme/dr/issues/7");
        expect(sns.file).to.include("Run: https://github.com/acme/dr/actions/runs/42");
    });

    it("exit 1 again, the same checks failing: updates the issue's description only (no comment, no alert)", () => {
        const keys = ["FAIL 444455556666/us-east-1 key-state"];
        const r = report({ exit: "1", results: withChecks(keyDisabled), issues: [openIssue(marker("findings", keys))], topic });
        expect(r.status, r.stderr).to.equal(0);
        expect(r.names).to.deep.equal(["gh issue list", "gh issue edit"]);
        expect(r.one("gh issue edit").args[2]).to.equal("12");
        expect(r.one("gh issue edit").file).to.include(markerOf("findings", keys));
    });

    it("exit 1 with other checks failing than last time: updates, comments with what changed, and alerts", () => {
        const before = marker("unchecked", ["UNCHECKED 444455556666/us-east-1 replication-template"]);
        const r = report({ exit: "1", results: withChecks(keyDisabled), issues: [openIssue(before)], topic });
        expect(r.status, r.stderr).to.equal(0);
        expect(r.names).to.deep.equal(["gh issue list", "gh issue edit", "gh issue comment", "aws sns publish"]);
        const comment = r.one("gh issue comment");
        expect(comment.args[2]).to.equal("12");
        expect(comment.file).to.include("Now: `FAIL 444455556666/us-east-1 key-state`.");
        expect(comment.file).to.include("No longer: `UNCHECKED 444455556666/us-east-1 replication-template`.");
        expect(r.one("aws sns publish").file).to.include("Issue: https://github.com/acme/dr/issues/12");
    });

    it("a muted issue (label verify-muted): its description still follows, but no comment and no alert", () => {
        const r = report({
            exit: "1",
            results: withChecks(keyDisabled),
            issues: [openIssue("no marker", ["verify", "verify-muted"])],
            topic,
        });
        expect(r.status, r.stderr).to.equal(0);
        expect(r.names).to.deep.equal(["gh issue list", "gh issue edit"]);
    });

    it("only the stack's own title counts: another stack's issue with the label is left alone", () => {
        const other = { ...openIssue(marker("findings", [])), number: 3, title: "verify: staging-eu" };
        const r = report({ exit: "1", results: withChecks(keyDisabled), issues: [other] });
        expect(r.names).to.deep.equal(["gh issue list", "gh label create", "gh issue create"]);
    });

    it("exit 0 with an open issue: closes it with a comment, and tells the topic the stack passes again", () => {
        const r = report({ exit: "0", results: passing, issues: [openIssue(marker("findings", []))], topic });
        expect(r.status, r.stderr).to.equal(0);
        expect(r.names).to.deep.equal(["gh issue list", "gh issue close", "aws sns publish"]);
        const close = r.one("gh issue close");
        expect(close.args[2]).to.equal("12");
        expect(argAfter(close, "--comment")).to.include("every check ran and none failed. Closed.");
        expect(argAfter(r.one("aws sns publish"), "--subject")).to.equal("verify: staging: passes again");
        expect(r.summary).to.include("### verify: staging: every check ran and none failed (exit 0)");
    });

    it("exit 0 and no open issue: nothing to open, close or publish", () => {
        const r = report({ exit: "0", results: withChecks({ "key-rotation": { status: "WARN", message: "Rotation is off." } }), topic });
        expect(r.status, r.stderr).to.equal(0);
        expect(r.names).to.deep.equal(["gh issue list"]);
        expect(r.summary).to.include("| WARN | `key-rotation` |"); // warnings in the summary, no issue
    });

    it("exit 2 with no results: an issue saying verify could not run, with the end of its stderr; never a close", () => {
        const log = "verify: reading the stack\nerror: The AWS credentials do not work: ExpiredToken.\n";
        const r = report({ exit: "2", results: "", log, issues: [openIssue(marker("findings", []))], topic });
        expect(r.status, r.stderr).to.equal(0);
        expect(r.names).to.deep.equal(["gh issue list", "gh issue edit", "gh issue comment", "aws sns publish"]);
        const body = r.one("gh issue edit").file!;
        expect(body).to.include("**verify could not run (exit 2)**");
        expect(body).to.include("```text\nverify: reading the stack\nerror: The AWS credentials do not work: ExpiredToken.\n```");
        expect(r.summary).to.include("error: The AWS credentials do not work: ExpiredToken.");
        expect(argAfter(r.one("aws sns publish"), "--subject")).to.equal("verify: staging: verify could not run (exit 2)");
    });

    it("exit 3: nothing failed, but it is no pass: the issue names the check that could not run and why", () => {
        const r = report({ exit: "3", results: withChecks(templateUnchecked) });
        expect(r.status, r.stderr).to.equal(0);
        expect(r.names).to.deep.equal(["gh issue list", "gh label create", "gh issue create"]);
        const body = r.one("gh issue create").file!;
        expect(body).to.include("**nothing failed, but some checks could not run: not a pass** (exit 3)");
        expect(body).to.include(
            "| UNCHECKED | `replication-template` | 444455556666/us-east-1 | Not checked: the credentials for 444455556666 were refused drs:DescribeReplicationConfigurationTemplates (AccessDenied). | Allow the call to the role verify uses there. |",
        );
    });

    for (const [what, c, headline] of [
        ["no exit code (verify skipped or timed out)", { exit: "" }, "verify did not finish"],
        ["exit 0 without a results file", { exit: "0" }, "verify exited 0 without readable results: not a pass"],
        ["exit 0 with results that are not verify's", { exit: "0", results: '{"not": "an array"}' }, "without readable results"],
        ["a code verify never gives (a crash)", { exit: "134", results: "" }, "verify could not run (exit 134)"],
    ] as const) {
        it(`${what}: reported as not passing, the open issue kept open`, () => {
            const r = report({ ...c, issues: [openIssue(marker("findings", []))] });
            expect(r.status, r.stderr).to.equal(0);
            expect(r.names).to.deep.equal(["gh issue list", "gh issue edit", "gh issue comment"]);
            expect(r.one("gh issue edit").file).to.include(headline);
        });
    }

    it("exit 0 whose results hold a FAIL is a finding, not a pass", () => {
        const r = report({ exit: "0", results: withChecks(keyDisabled), issues: [openIssue(marker("findings", []))] });
        expect(r.names).not.to.include("gh issue close");
        expect(r.one("gh issue edit").file).to.include("**a check failed**");
    });

    it("gh failing: the summary is written, the alert still goes out, and the step fails", () => {
        const r = report({ exit: "1", results: withChecks(keyDisabled), topic, fail: "gh" });
        expect(r.status).to.equal(1);
        expect(r.stderr).to.include("error: the issue of staging could not be updated");
        expect(r.summary).to.include("| FAIL | `key-state` |");
        expect(r.names).to.deep.equal(["gh issue list", "aws sns publish"]);
    });

    it("aws failing: the issue is opened and the step fails", () => {
        const r = report({ exit: "1", results: withChecks(keyDisabled), topic, fail: "aws" });
        expect(r.status).to.equal(1);
        expect(r.stderr).to.include(`error: could not publish to ${topic}`);
        expect(r.names).to.include("gh issue create");
    });

    it("a topic that is no SNS ARN is refused, not published to", () => {
        const r = report({ exit: "1", results: withChecks(keyDisabled), topic: "dr-alerts" });
        expect(r.status).to.equal(1);
        expect(r.names).not.to.include("aws sns publish");
    });

    it("2,000 failing checks: the issue stays under GitHub's 65,536 characters, the rest left to the artifact", () => {
        const many = Array.from({ length: 2000 }, (_, i) => ({
            check: "source-server-encryption",
            scope: `444455556666/us-east-${i}`,
            status: "FAIL",
            message: "x".repeat(100),
            fix: "align-servers",
        }));
        const r = report({ exit: "1", results: many });
        const body = r.one("gh issue create").file!;
        expect(body.length).to.be.lessThan(65_536);
        expect(body).to.match(/… and \d+ more: see the run's artifact\./);
    });

    it("no --stack: a usage error, exit 2, nothing asked of gh", () => {
        const r = report({ exit: "1", args: "--exit 1" });
        expect(r.status).to.equal(2);
        expect(r.calls).to.deep.equal([]);
    });
});

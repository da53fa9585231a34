// Read-only checks, against real AWS, that a deployed cross-account setup works, each mapped to
// the guide's troubleshooting symptoms. Never changes anything. Nothing is defined here: the
// catalogue, the checks by area (checks/), the run, the report and the command have their own files.
export { checkCatalog, verifyHelp } from "./catalog";
export { verifyCommand } from "./command";
export { mapLimit } from "./lists";
export { policyDifferences } from "./policyDiff";
export { exitCodeOf, formatResults } from "./report";
export { verify } from "./run";
export { defaultMaxDrillAgeDays } from "./types";
export type { CheckResult, Status, VerifyInput, VerifyOptions } from "./types";

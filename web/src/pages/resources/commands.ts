// The commands an operator may give a unit from its page: what its driver supports (the unit's
// capabilities) and what makes sense in its state, each with the confirmation's words. Pure.
import type { Schemas } from "../../api/client";

export type CommandKey = "curtail" | "resume" | "power_target";

export interface UnitCommand {
  key: CommandKey;
  action: Schemas["CommandIn"]["action"];
  /** the button's and the confirm button's label */
  label: string;
  title: (unitId: string) => string;
  consequence: string;
  /** asks for a power target (W) */
  needsPower?: boolean;
  /** why it cannot be given now; undefined: it can */
  disabledReason?: string;
}

type Unit = Pick<Schemas["UnitOut"], "id" | "capabilities" | "mode" | "status" | "address" | "kind">;

/** The commands `unit`'s driver supports, in the order the page shows them; those the unit's
 * state rules out carry the reason. A reboot is not among them: no driver offers one. */
export function commandsFor(unit: Unit): UnitCommand[] {
  const caps = new Set(unit.capabilities);
  const unreachable = unit.status === "offline" || unit.address === null ? `${unit.id} is offline` : undefined;
  const busy = unit.status === "switching" ? `${unit.id} is switching` : undefined;
  const blocked = unreachable ?? busy;
  const out: UnitCommand[] = [];
  if (caps.has("mining")) {
    out.push({
      key: "curtail", action: "stop_mining", label: "Curtail",
      title: (id) => `Curtail ${id}?`,
      consequence: "It stops mining: its hashrate drops to zero and it draws only idle power until it is resumed. " +
        "The economic optimizer may resume it at its next decision.",
      disabledReason: blocked ?? (unit.mode === "curtailed" ? "Already curtailed" : undefined),
    });
    out.push({
      key: "resume", action: "start_mining", label: "Resume mining",
      title: (id) => `Resume mining on ${id}?`,
      consequence: "It starts hashing again and draws its full power; the facility's power use rises accordingly.",
      disabledReason: blocked ?? (unit.mode === "mining" ? "Already mining" : undefined),
    });
  }
  if (caps.has("power_target")) {
    out.push({
      key: "power_target", action: "set_power_target", label: "Set power target",
      title: (id) => `Set the power target of ${id}`,
      consequence: "The unit limits its power draw to the target; a lower target means less " +
        (unit.kind === "asic" ? "hashrate" : "compute throughput") + ".",
      needsPower: true,
      disabledReason: blocked,
    });
  }
  return out;
}

/** The power target typed in the dialog, in watts, or the problem with it (the API's bounds). */
export function parsePowerTarget(input: string): { value: number } | { error: string } {
  const text = input.trim();
  if (text === "") return { error: "Enter a power target in watts" };
  const value = Number(text);
  if (!Number.isFinite(value)) return { error: "A number of watts" };
  if (value <= 0) return { error: "Greater than 0 W" };
  if (value > 100_000) return { error: "At most 100,000 W" };
  return { value };
}

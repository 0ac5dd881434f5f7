import { render } from "@testing-library/react";
import { beforeAll, describe, expect, it } from "vitest";
import FleetChart from "./FleetChart";

beforeAll(() => {
  // jsdom has no ResizeObserver; the chart has a fixed height and takes its width from the parent
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  } as unknown as typeof ResizeObserver;
});

describe("FleetChart", () => {
  it("renders both series as SVG", () => {
    const points = [0, 1, 2].map((i) => ({
      ts: `2026-01-01T10:0${i}:00Z`, hashrate_ths: 100 + i, power_w: { total: 1e6 + i * 1e5 },
      power_w_by_facility: {}, gpu_utilization: null, gpus_busy: null, gpus_total: null,
    }));
    const { container } = render(<div style={{ width: 600 }}><FleetChart points={points} height={200} /></div>);
    expect(container.querySelector("svg")).not.toBeNull();
  });
});

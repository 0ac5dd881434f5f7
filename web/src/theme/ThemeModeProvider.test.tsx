import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { THEME_KEY, ThemeModeProvider, useThemeMode } from "./ThemeModeProvider";
import { getContrastRatio } from "@mui/material/styles";
import { createMaraTheme } from "./theme";

function mockSystem(dark: boolean) {
  const listeners = new Set<() => void>();
  const mq = {
    matches: dark,
    media: "(prefers-color-scheme: dark)",
    addEventListener: (_: string, fn: () => void) => listeners.add(fn),
    removeEventListener: (_: string, fn: () => void) => listeners.delete(fn),
  };
  vi.stubGlobal("matchMedia", vi.fn(() => mq));
  return {
    set(d: boolean) {
      mq.matches = d;
      listeners.forEach((fn) => fn());
    },
  };
}

function Probe() {
  const { mode, source, toggle } = useThemeMode();
  return (
    <button type="button" onClick={toggle}>
      {mode}/{source}
    </button>
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe("ThemeModeProvider", () => {
  it("follows the OS preference until the user chooses", () => {
    const os = mockSystem(true);
    render(
      <ThemeModeProvider>
        <Probe />
      </ThemeModeProvider>,
    );
    expect(screen.getByRole("button")).toHaveTextContent("dark/system");
    act(() => os.set(false));
    expect(screen.getByRole("button")).toHaveTextContent("light/system");
    expect(localStorage.getItem(THEME_KEY)).toBeNull();
  });

  it("keeps the user's choice in localStorage and uses it on the next load", async () => {
    mockSystem(false);
    const first = render(
      <ThemeModeProvider>
        <Probe />
      </ThemeModeProvider>,
    );
    await userEvent.click(screen.getByRole("button"));
    expect(screen.getByRole("button")).toHaveTextContent("dark/user");
    expect(localStorage.getItem(THEME_KEY)).toBe("dark");
    first.unmount();

    render(
      <ThemeModeProvider>
        <Probe />
      </ThemeModeProvider>,
    );
    expect(screen.getByRole("button")).toHaveTextContent("dark/user");
    expect(document.documentElement.dataset.theme).toBe("dark");
  });

  it("a stored choice wins over the OS", () => {
    mockSystem(true);
    localStorage.setItem(THEME_KEY, "light");
    render(
      <ThemeModeProvider>
        <Probe />
      </ThemeModeProvider>,
    );
    expect(screen.getByRole("button")).toHaveTextContent("light/user");
  });

  it("ignores a stored value that is not a mode", () => {
    mockSystem(false);
    localStorage.setItem(THEME_KEY, "purple");
    render(
      <ThemeModeProvider>
        <Probe />
      </ThemeModeProvider>,
    );
    expect(screen.getByRole("button")).toHaveTextContent("light/system");
  });
});

describe("createMaraTheme", () => {
  it("uses MARA cyan on near-black in dark mode and the dark blue on light", () => {
    const dark = createMaraTheme("dark");
    expect(dark.palette.primary.main).toBe("#00d4ff");
    expect(dark.palette.background.default).toBe("#0a0e14");
    const light = createMaraTheme("light");
    expect(light.palette.primary.main).toBe("#0052cc");
    // text colours must pass AA (4.5:1) on their backgrounds, in both modes
    for (const t of [light, dark]) {
      for (const bg of [t.palette.background.default, t.palette.background.paper]) {
        expect(getContrastRatio(t.palette.primary.main, bg)).toBeGreaterThanOrEqual(4.5);
        expect(getContrastRatio(t.palette.text.secondary, bg)).toBeGreaterThanOrEqual(4.5);
      }
      expect(getContrastRatio(t.palette.primary.contrastText, t.palette.primary.main)).toBeGreaterThanOrEqual(4.5);
      for (const tone of ["error", "warning", "info", "success"] as const) {
        expect(getContrastRatio(t.palette[tone].main, t.palette.background.default)).toBeGreaterThanOrEqual(4.5);
      }
    }
  });
});

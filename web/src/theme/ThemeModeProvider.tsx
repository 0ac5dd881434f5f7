// Light or dark: the user's choice, kept in localStorage "hcp.theme", else the OS preference
// (followed live while the user has not chosen). Tabs stay in step through the "storage" event.
import CssBaseline from "@mui/material/CssBaseline";
import { ThemeProvider } from "@mui/material/styles";
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { createMaraTheme, type ThemeMode } from "./theme";

export const THEME_KEY = "hcp.theme";
const DARK_QUERY = "(prefers-color-scheme: dark)";

export function readStoredMode(): ThemeMode | null {
  try {
    const v = globalThis.localStorage?.getItem(THEME_KEY);
    return v === "light" || v === "dark" ? v : null;
  } catch {
    return null;
  }
}

export function systemMode(): ThemeMode {
  return typeof window !== "undefined" && window.matchMedia?.(DARK_QUERY).matches ? "dark" : "light";
}

export interface ThemeModeValue {
  mode: ThemeMode;
  /** "user" when chosen (and stored), "system" when following the OS */
  source: "user" | "system";
  setMode(mode: ThemeMode): void;
  toggle(): void;
}

const ThemeModeContext = createContext<ThemeModeValue | null>(null);

export function ThemeModeProvider({ children }: { children: ReactNode }) {
  const [stored, setStored] = useState<ThemeMode | null>(readStoredMode);
  const [system, setSystem] = useState<ThemeMode>(systemMode);

  useEffect(() => {
    const mq = window.matchMedia?.(DARK_QUERY);
    if (!mq) return undefined;
    const onChange = () => setSystem(mq.matches ? "dark" : "light");
    mq.addEventListener?.("change", onChange);
    return () => mq.removeEventListener?.("change", onChange);
  }, []);

  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key === THEME_KEY || e.key === null) setStored(readStoredMode());
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, []);

  const mode = stored ?? system;

  const setMode = useCallback((m: ThemeMode) => {
    setStored(m);
    try {
      localStorage.setItem(THEME_KEY, m);
    } catch {
      // storage unavailable: the choice lasts for this page
    }
  }, []);
  const toggle = useCallback(() => setMode(mode === "dark" ? "light" : "dark"), [mode, setMode]);

  const theme = useMemo(() => createMaraTheme(mode), [mode]);
  const value = useMemo<ThemeModeValue>(
    () => ({ mode, source: stored ? "user" : "system", setMode, toggle }),
    [mode, stored, setMode, toggle],
  );

  useEffect(() => {
    document.documentElement.dataset.theme = mode;
    document.querySelector('meta[name="theme-color"]')?.setAttribute("content", theme.palette.background.default);
  }, [mode, theme]);

  return (
    <ThemeModeContext.Provider value={value}>
      <ThemeProvider theme={theme}>
        <CssBaseline enableColorScheme />
        {children}
      </ThemeProvider>
    </ThemeModeContext.Provider>
  );
}

export function useThemeMode(): ThemeModeValue {
  const v = useContext(ThemeModeContext);
  if (!v) throw new Error("useThemeMode needs a ThemeModeProvider above it");
  return v;
}

// MARA's look: cyan #00d4ff and blue #0066ff on near-black #0a0e14. Dark mode uses the cyan as
// its primary; light mode uses a darker blue so text and buttons on white pass WCAG AA (cyan on
// white is 1.7:1; #0052cc on white is 6.8:1).
import { createTheme, type Theme } from "@mui/material/styles";

export type ThemeMode = "light" | "dark";

export const brand = {
  cyan: "#00d4ff",
  blue: "#0066ff",
  black: "#0a0e14",
  /** dark blue: MARA blue for text on light backgrounds */
  blueText: "#0052cc",
  gradient: "linear-gradient(90deg, #00d4ff 0%, #0066ff 100%)",
} as const;

export function createMaraTheme(mode: ThemeMode): Theme {
  const dark = mode === "dark";
  const theme = createTheme({
    palette: dark
      ? {
          mode: "dark",
          primary: { main: brand.cyan, light: "#66e5ff", dark: "#00a6c7", contrastText: brand.black },
          secondary: { main: "#66a3ff", light: "#99c2ff", dark: brand.blue, contrastText: brand.black },
          background: { default: brand.black, paper: "#111823" },
          text: { primary: "#e6edf3", secondary: "#9aa4b2" },
          divider: "rgba(230, 237, 243, 0.12)",
        }
      : {
          mode: "light",
          primary: { main: brand.blueText, light: brand.blue, dark: "#003d99", contrastText: "#ffffff" },
          secondary: { main: "#006a85", light: "#00a6c7", dark: "#004d61", contrastText: "#ffffff" },
          background: { default: "#f4f6fa", paper: "#ffffff" },
          text: { primary: brand.black, secondary: "#4a5463" },
          // MUI's defaults are too light for text on white (warning 3.1:1, info 4.1:1)
          warning: { main: "#a85400", light: "#ed6c02", dark: "#7a3d00", contrastText: "#ffffff" },
          info: { main: "#01579b", light: "#0288d1", dark: "#003c6c", contrastText: "#ffffff" },
          success: { main: "#2e7d32", light: "#4caf50", dark: "#1b5e20", contrastText: "#ffffff" },
          error: { main: "#c62828", light: "#ef5350", dark: "#8e0000", contrastText: "#ffffff" },
        },
    shape: { borderRadius: 10 },
    typography: {
      fontFamily: '"Inter", "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif',
      h1: { fontWeight: 700 },
      h2: { fontWeight: 700 },
      h3: { fontWeight: 600 },
      button: { textTransform: "none", fontWeight: 600 },
    },
  });
  const focus = theme.palette.mode === "dark" ? brand.cyan : brand.blueText;
  theme.components = {
    MuiCssBaseline: {
      styleOverrides: {
        // a focus ring everyone can see, on everything reachable by keyboard
        ":focus-visible": { outline: `2px solid ${focus}`, outlineOffset: 2 },
        body: { fontVariantNumeric: "tabular-nums" },
      },
    },
    MuiButtonBase: { defaultProps: { disableRipple: false } },
    MuiLink: { defaultProps: { underline: "hover" } },
    MuiAppBar: { defaultProps: { elevation: 0, color: "default" } },
    MuiPaper: { styleOverrides: { root: { backgroundImage: "none" } } },
  };
  return theme;
}

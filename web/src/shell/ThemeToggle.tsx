import DarkModeOutlined from "@mui/icons-material/DarkModeOutlined";
import LightModeOutlined from "@mui/icons-material/LightModeOutlined";
import IconButton from "@mui/material/IconButton";
import Tooltip from "@mui/material/Tooltip";
import { useThemeMode } from "../theme/ThemeModeProvider";

export function ThemeToggle({ color = "inherit" }: { color?: "inherit" | "default" }) {
  const { mode, toggle } = useThemeMode();
  const label = mode === "dark" ? "Switch to light theme" : "Switch to dark theme";
  return (
    <Tooltip title={label}>
      <IconButton color={color} onClick={toggle} aria-label={label}>
        {mode === "dark" ? <LightModeOutlined /> : <DarkModeOutlined />}
      </IconButton>
    </Tooltip>
  );
}

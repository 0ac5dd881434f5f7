// The "Account" button and its menu: who is signed in (e-mail, role) and "Sign out".
import AccountCircle from "@mui/icons-material/AccountCircle";
import Logout from "@mui/icons-material/Logout";
import Box from "@mui/material/Box";
import Divider from "@mui/material/Divider";
import IconButton from "@mui/material/IconButton";
import ListItemIcon from "@mui/material/ListItemIcon";
import MenuItem from "@mui/material/MenuItem";
import MenuList from "@mui/material/MenuList";
import Popover from "@mui/material/Popover";
import Tooltip from "@mui/material/Tooltip";
import Typography from "@mui/material/Typography";
import { useId, useState } from "react";
import { useNavigate } from "react-router";
import { useAuth } from "../auth/AuthProvider";
import { ROLE_LABELS } from "./nav";

export function AccountMenu() {
  const { user, signOut } = useAuth();
  const navigate = useNavigate();
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  const [busy, setBusy] = useState(false);
  const menuId = useId();
  const headerId = useId();
  const open = anchor !== null;
  if (!user) return null;

  const onSignOut = async () => {
    setBusy(true);
    try {
      await signOut();
    } finally {
      setBusy(false);
      setAnchor(null);
      navigate("/signin", { replace: true });
    }
  };

  return (
    <>
      <Tooltip title={user.email}>
        <IconButton
          color="inherit"
          aria-label="Account"
          aria-haspopup="menu"
          aria-expanded={open ? "true" : undefined}
          aria-controls={open ? menuId : undefined}
          onClick={(e) => setAnchor(e.currentTarget)}
        >
          <AccountCircle />
        </IconButton>
      </Tooltip>
      <Popover
        open={open}
        anchorEl={anchor}
        onClose={() => setAnchor(null)}
        anchorOrigin={{ vertical: "bottom", horizontal: "right" }}
        transformOrigin={{ vertical: "top", horizontal: "right" }}
        slotProps={{ paper: { role: "dialog", "aria-label": "Account", sx: { minWidth: 240, mt: 1 } } }}
      >
        <Box id={headerId} sx={{ px: 2, pt: 1.5, pb: 1 }}>
          <Typography variant="subtitle2" sx={{ fontWeight: 600, wordBreak: "break-all" }}>
            {user.email}
          </Typography>
          <Typography variant="body2" sx={{ color: "text.secondary" }}>
            {ROLE_LABELS[user.role]}
          </Typography>
        </Box>
        <Divider />
        <MenuList id={menuId} autoFocusItem={open} aria-labelledby={headerId} variant="menu">
          <MenuItem onClick={onSignOut} disabled={busy}>
            <ListItemIcon>
              <Logout fontSize="small" />
            </ListItemIcon>
            Sign out
          </MenuItem>
        </MenuList>
      </Popover>
    </>
  );
}

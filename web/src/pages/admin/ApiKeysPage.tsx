// Administration > API keys: any user's keys (the API lets an admin name the user), revocable.
// Keys are created by their owners, in Settings: the secret is shown to them alone.
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useSearchParams } from "react-router";
import { useAuth } from "../../auth/AuthProvider";
import { ROLE_LABELS } from "../../shell/nav";
import { usePageTitle } from "../../shell/usePageTitle";
import { ApiKeyTable } from "../settings/ApiKeyTable";
import { useUsers } from "./queries";
import { readText, withParams } from "./urlState";

export default function ApiKeysPage() {
  usePageTitle("API keys");
  const { user: me } = useAuth();
  const [sp, setSp] = useSearchParams();
  const users = useUsers({ limit: 500 });
  const chosen = readText(sp, "user", 32) ?? me?.id ?? null;
  const list = users.data?.items ?? [];
  const owner = list.find((u) => u.id === chosen);
  const ownerName = chosen === me?.id ? "your" : owner ? `${owner.email}'s` : "this user's";
  return (
    <Stack spacing={2}>
      <Typography variant="h4" component="h1">API keys</Typography>
      <Typography sx={{ color: "text.secondary" }}>
        Every user&apos;s keys, for audit and revocation. Users create their own keys in Settings, where the secret is
        shown to them once; nobody, admins included, can read it afterwards.
      </Typography>
      <TextField select label="User" size="small" value={chosen ?? ""} sx={{ maxWidth: 420 }}
        onChange={(e) => setSp(withParams(sp, { user: e.target.value === me?.id ? null : e.target.value }))}
        slotProps={{ select: { native: true }, inputLabel: { shrink: true } }}
        helperText={users.error ? "Could not load the users" : undefined}>
        {me && !list.some((u) => u.id === me.id) ? <option value={me.id}>{me.email} (you)</option> : null}
        {list.map((u) => (
          <option key={u.id} value={u.id}>
            {u.email} ({ROLE_LABELS[u.role]}{u.id === me?.id ? ", you" : ""}{u.is_active ? "" : ", disabled"})
          </option>
        ))}
      </TextField>
      {chosen ? (
        <ApiKeyTable userId={chosen === me?.id ? null : chosen} label={`API keys of ${owner?.email ?? me?.email ?? "the user"}`}
          whose={ownerName} />
      ) : null}
    </Stack>
  );
}

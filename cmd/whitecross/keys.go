package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"whitecross"
)

// keys runs the key sub-verbs: rotate (the token signing key), rotate-data
// (a tenant's data key), rotate-master (re-wrap every data key) and status.
func (p *program) keys(ctx context.Context, sub string, args []string) error {
	switch sub {
	case "rotate-data":
		return p.keysRotateData(ctx, args)
	case "rotate-master":
		return p.keysRotateMaster(ctx, args)
	case "status":
		return p.keysStatus(ctx, args)
	}
	return p.keysRotate(ctx, args)
}

// keysRotateData gives a tenant a new data key and queues the
// re-encryption of its older rows.
func (p *program) keysRotateData(ctx context.Context, args []string) error {
	fs, sf := p.newFlagSet("keys rotate-data", false)
	slug := fs.String("tenant", "", "slug of the tenant whose data key to rotate (required)")
	help := verbHelp("keys rotate-data --tenant SLUG",
		"Gives the tenant a new data key version, which every running server seals new writes with from now on. "+
			"Rows sealed by older versions stay readable and are re-encrypted by a background job of the servers' job queue, "+
			"in batches; `keys status` shows its progress. Older keys are kept, marked retired once no row uses them.", fs)
	if err := p.parseFlags(fs, args, help); err != nil {
		return err
	}
	if err := required(map[string]string{"tenant": *slug}); err != nil {
		return err
	}
	a, t, err := p.openTenant(ctx, sf, *slug)
	if err != nil {
		return err
	}
	defer a.Close()
	before, err := a.store.TenantDataKeyStatus(ctx, t.ID)
	if err != nil {
		return err
	}
	var sealed int64
	for _, r := range before.Rows {
		sealed += r.Rows
	}
	k, err := a.store.RotateDataKey(ctx, t.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "Tenant %s: data key v%d seals every new write from now on. The %d row(s) sealed before are re-encrypted "+
		"in the background by the running servers; follow with `whitecross keys status --tenant %s`.\n", t.Slug, k.Version, sealed, t.Slug)
	return nil
}

// keysRotateMaster re-wraps every data key and signing key under the new
// master key.
func (p *program) keysRotateMaster(ctx context.Context, args []string) error {
	fs, sf := p.newFlagSet("keys rotate-master", false)
	help := verbHelp("keys rotate-master",
		"Re-wraps every tenant data key and every token signing key under the new master key (WHITECROSS_MASTER_KEY), "+
			"opening them with the old one (WHITECROSS_OLD_MASTER_KEY), in one transaction. Message content is not rewritten. "+
			"Run it while every server runs with both keys set; then restart them with the new key alone (docs/operations.md).", fs)
	if err := p.parseFlags(fs, args, help); err != nil {
		return err
	}
	cfg, err := p.config(sf)
	if err != nil {
		return err
	}
	if cfg.OldMasterKey == "" || cfg.MasterKey == "" {
		return usageErrorf("set the new master key in WHITECROSS_MASTER_KEY and the current one in WHITECROSS_OLD_MASTER_KEY")
	}
	a, err := p.openWith(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := a.store.RewrapMasterKey(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "Re-wrapped %d data key(s) and %d signing key(s) under master key %s (%d already were). "+
		"Restart every server with WHITECROSS_MASTER_KEY alone, then keep the old key only with the backups made before.\n",
		rep.DataKeys, rep.SigningKeys, a.masterKeyID, rep.AlreadyCurrent)
	return nil
}

// keysStatus prints the data keys of one tenant, or of all, and the rows
// each still seals.
func (p *program) keysStatus(ctx context.Context, args []string) error {
	fs, sf := p.newFlagSet("keys status", false)
	slug := fs.String("tenant", "", "slug of one tenant (default: every tenant)")
	help := verbHelp("keys status [--tenant SLUG]",
		"Shows each tenant's data key versions (created, retired, the master key that wraps them) and how many rows "+
			"of each table every version still seals: the progress of the re-encryption after `keys rotate-data`.", fs)
	if err := p.parseFlags(fs, args, help); err != nil {
		return err
	}
	a, err := p.open(ctx, sf, true)
	if err != nil {
		return err
	}
	defer a.Close()
	tenants, err := a.store.ListTenants(ctx)
	if err != nil {
		return err
	}
	if *slug != "" {
		t, err := a.tenant(ctx, *slug)
		if err != nil {
			return err
		}
		tenants = []*whitecross.Tenant{t}
	}
	for _, t := range tenants {
		st, err := a.store.TenantDataKeyStatus(ctx, t.ID)
		if err != nil {
			return err
		}
		writeKeyStatus(p.stdout, t.Slug, st)
	}
	return nil
}

// writeKeyStatus writes one tenant's keys and rows per key.
func writeKeyStatus(out io.Writer, slug string, st *whitecross.DataKeyStatus) {
	if st.Current.Version == 0 {
		fmt.Fprintf(out, "%s: no data key yet (made with the first sealed write)\n\n", slug)
		return
	}
	fmt.Fprintf(out, "%s: data key v%d since %s, re-encryption %d %% (%d row(s) left)\n", slug, st.Current.Version,
		st.Current.CreatedAt.Format(time.RFC3339), st.ReencryptedPercent(), st.RowsLeft())
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  KEY\tCREATED\tSTATE\tMASTER KEY")
	for _, k := range st.Keys {
		state := "in use"
		switch {
		case k.Version == st.Current.Version:
			state = "current"
		case k.RetiredAt != nil:
			state = "retired " + k.RetiredAt.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  v%d\t%s\t%s\t%s\n", k.Version, k.CreatedAt.Format(time.RFC3339), state, k.MasterKeyID)
	}
	w.Flush()
	w = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  TABLE\tKEY\tROWS")
	for _, r := range st.Rows {
		fmt.Fprintf(w, "  %s\tv%d\t%d\n", r.Table, r.Version, r.Rows)
	}
	w.Flush()
	fmt.Fprintln(out)
}

// keysRotate rotates the access-token signing key.
func (p *program) keysRotate(ctx context.Context, args []string) error {
	fs, sf := p.newFlagSet("keys rotate", false)
	help := verbHelp("keys rotate",
		"Generates a new signing key for access tokens and makes it current. Earlier keys keep verifying the tokens they signed until those expire; running servers switch to the new key within a minute.", fs)
	if err := p.parseFlags(fs, args, help); err != nil {
		return err
	}
	cfg, err := p.config(sf)
	if err != nil {
		return err
	}
	if cfg.JWTSigningKey != "" {
		return usageErrorf("the signing key comes from %s; rotate it by replacing that key (keys rotate manages database-stored keys only)", cfg.source("JWTSigningKey"))
	}
	a, err := p.openWith(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer a.Close()
	kr, err := a.keyring(ctx)
	if err != nil {
		return err
	}
	previous := kr.SignerID()
	if err := kr.Rotate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "New signing key %s is current; the previous key %s keeps verifying tokens it signed.\n", kr.SignerID(), previous)
	return nil
}

package flows

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// Checkpoints: when a process writes its files and its state record (the rules are in the package doc,
// "Steps"). The invariants they keep: a file a record names is durable before the record is written; every file
// is durable before any request is sent; the state record is durable before a request that changes the
// platform's state, and again before the request after it.

// stage queues a file to be written at the next checkpoint, replacing a queued file of the same name.
func (p *proc) stage(name string, data []byte) {
	for i := range p.staged {
		if p.staged[i].Name == name {
			p.staged[i].Data = data
			return
		}
	}
	p.staged = append(p.staged, File{Name: name, Data: data})
}

// stagedFile returns the content of a staged file.
func (p *proc) stagedFile(name string) ([]byte, bool) {
	for _, f := range p.staged {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}

// writeFiles makes the staged files durable.
func (p *proc) writeFiles(ctx context.Context) error {
	if len(p.staged) == 0 {
		return nil
	}
	if err := putFiles(ctx, p.store, p.staged); err != nil {
		return err
	}
	p.staged = nil
	return nil
}

// checkpoint writes the staged files, then the state record. Without force the record is written only when
// its content changed since it was last written; with force also when only the last step or error did. The
// files and the record are written in one PutFiles of two groups, so that the files are durable before the
// record is in place.
func (p *proc) checkpoint(ctx context.Context, force bool) error {
	content, full, err := p.snapshot()
	if err != nil {
		return err
	}
	if bytes.Equal(full, p.savedFull) || (!force && bytes.Equal(content, p.savedContent)) {
		return p.writeFiles(ctx)
	}
	p.st.Updated = p.deps.now().UTC()
	rec, err := marshalState(p.st)
	if err != nil {
		return err
	}
	if err := putFiles(ctx, p.store, p.staged, []File{{Name: FileState, Data: rec}}); err != nil {
		return err
	}
	p.staged = nil
	p.savedContent, p.savedFull = content, full
	return nil
}

// snapshot returns the state record as compared between checkpoints: content without the step, the last
// error and the update time; full without the update time.
func (p *proc) snapshot() (content, full []byte, err error) {
	c := *p.st
	c.Updated = time.Time{}
	if full, err = json.Marshal(&c); err != nil {
		return nil, nil, err
	}
	c.Step, c.LastError = "", ""
	if content, err = json.Marshal(&c); err != nil {
		return nil, nil, err
	}
	return content, full, nil
}

// markSaved records that the state record as it is now is the one in the store (a state just loaded).
func (p *proc) markSaved() {
	if content, full, err := p.snapshot(); err == nil {
		p.savedContent, p.savedFull = content, full
	}
}

// beforeSend is called before every request of the process; mutating says whether the request changes the
// platform's state. It writes the staged files, and the state record when the request or the one before it
// changes the platform's state.
func (p *proc) beforeSend(ctx context.Context, mutating bool) error {
	var err error
	if mutating || p.afterMutating {
		err = p.checkpoint(ctx, false)
	} else {
		err = p.writeFiles(ctx)
	}
	if err != nil {
		return err
	}
	p.afterMutating = mutating
	return nil
}

// checkpointed is the platform of a process: every request goes through beforeSend first.
type checkpointed struct {
	platform
	p *proc
}

func (c checkpointed) ActorQualities(ctx context.Context, ssin string) (bool, []Organization, error) {
	if err := c.p.beforeSend(ctx, false); err != nil {
		return false, nil, err
	}
	return c.platform.ActorQualities(ctx, ssin)
}

func (c checkpointed) OrganizationTypes(ctx context.Context) ([]orgType, error) {
	if err := c.p.beforeSend(ctx, false); err != nil {
		return nil, err
	}
	return c.platform.OrganizationTypes(ctx)
}

func (c checkpointed) ExistingApplicationIDs(ctx context.Context, typ, id string) ([]string, bool, error) {
	if err := c.p.beforeSend(ctx, false); err != nil {
		return nil, false, err
	}
	return c.platform.ExistingApplicationIDs(ctx, typ, id)
}

// GenerateContract and GenerateRevocationContract only produce a document: sent again, they produce another.
func (c checkpointed) GenerateContract(ctx context.Context, signer Person, subject Subject, contact Contact) (*ContractRecord, error) {
	if err := c.p.beforeSend(ctx, false); err != nil {
		return nil, err
	}
	return c.platform.GenerateContract(ctx, signer, subject, contact)
}

func (c checkpointed) GenerateCertificate(ctx context.Context, requestID string, csr, contractXML []byte, contact Contact, usage []string) (string, bool, error) {
	if err := c.p.beforeSend(ctx, true); err != nil {
		return "", false, err
	}
	return c.platform.GenerateCertificate(ctx, requestID, csr, contractXML, contact, usage)
}

func (c checkpointed) GetCertificate(ctx context.Context, pki string) ([][]byte, error) {
	if err := c.p.beforeSend(ctx, false); err != nil {
		return nil, err
	}
	return c.platform.GetCertificate(ctx, pki)
}

func (c checkpointed) CertificateInfo(ctx context.Context) (*certInfo, error) {
	if err := c.p.beforeSend(ctx, false); err != nil {
		return nil, err
	}
	return c.platform.CertificateInfo(ctx)
}

func (c checkpointed) CertificatesForCitizen(ctx context.Context) ([]certInfo, error) {
	if err := c.p.beforeSend(ctx, false); err != nil {
		return nil, err
	}
	return c.platform.CertificatesForCitizen(ctx)
}

func (c checkpointed) GenerateRevocationContract(ctx context.Context, requestID, pki string, signer Person, reason string) (*ContractRecord, error) {
	if err := c.p.beforeSend(ctx, false); err != nil {
		return nil, err
	}
	return c.platform.GenerateRevocationContract(ctx, requestID, pki, signer, reason)
}

func (c checkpointed) Revoke(ctx context.Context, requestID, pki string, contractXML []byte) error {
	if err := c.p.beforeSend(ctx, true); err != nil {
		return err
	}
	return c.platform.Revoke(ctx, requestID, pki, contractXML)
}

func (c checkpointed) SubmitCSRForForeigner(ctx context.Context, requestID string, person Person, contact Contact, csr []byte) (string, *time.Time, error) {
	if err := c.p.beforeSend(ctx, true); err != nil {
		return "", nil, err
	}
	return c.platform.SubmitCSRForForeigner(ctx, requestID, person, contact, csr)
}

func (c checkpointed) StartETKRegistration(ctx context.Context, spki []byte) ([]byte, error) {
	if err := c.p.beforeSend(ctx, true); err != nil {
		return nil, err
	}
	return c.platform.StartETKRegistration(ctx, spki)
}

func (c checkpointed) CompleteETKRegistration(ctx context.Context, cert []byte) ([]byte, bool, error) {
	if err := c.p.beforeSend(ctx, true); err != nil {
		return nil, false, err
	}
	return c.platform.CompleteETKRegistration(ctx, cert)
}

func (c checkpointed) ActivateETK(ctx context.Context) error {
	if err := c.p.beforeSend(ctx, true); err != nil {
		return err
	}
	return c.platform.ActivateETK(ctx)
}

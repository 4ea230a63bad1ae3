// SPDX-License-Identifier: GPL-2.0
#include "identity.h"

#include <stdlib.h>

void embargo_cert_free(struct embargo_cert *c)
{
	free(c->subject_cn);
	free(c->subject_o);
	free(c->issuer_cn);
	free(c->issuer_o);
	free(c->serial);
	*c = (struct embargo_cert){ 0 };
}

void embargo_signature_free(struct embargo_signature *s)
{
	for (size_t i = 0; i < s->n_chain; i++)
		embargo_cert_free(&s->chain[i]);
	free(s->chain);
	free(s->detail);
	free(s->digest_algorithm);
	*s = (struct embargo_signature){ 0 };
}

void embargo_package_free(struct embargo_package *p)
{
	free(p->manager);
	free(p->name);
	free(p->version);
	free(p->maintainer);
	free(p->vendor);
	free(p->signing_key);
	*p = (struct embargo_package){ 0 };
}

void embargo_identity_free(struct embargo_identity *id)
{
	for (size_t i = 0; i < id->n_sigs; i++)
		embargo_signature_free(&id->sigs[i]);
	free(id->sigs);
	for (size_t i = 0; i < id->n_pkgs; i++)
		embargo_package_free(&id->pkgs[i]);
	free(id->pkgs);
	free(id->path);
	free(id->format);
	free(id->build_id);
	*id = (struct embargo_identity){ 0 };
}

const char *embargo_sig_kind_name(uint8_t kind)
{
	switch (kind) {
	case EMBARGO_SIG_AUTHENTICODE:
		return "authenticode";
	case EMBARGO_SIG_MODULE:
		return "module";
	case EMBARGO_SIG_IMA:
		return "ima";
	default:
		return "unknown";
	}
}

const char *embargo_sig_state_name(uint8_t state)
{
	switch (state) {
	case EMBARGO_SIG_VERIFIED:
		return "verified";
	case EMBARGO_SIG_UNVERIFIED:
		return "unverified";
	case EMBARGO_SIG_MALFORMED:
		return "malformed";
	default:
		return "unknown";
	}
}

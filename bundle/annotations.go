package bundle

import (
	"regexp"
	"strings"

	"nucleus.dev/nucleus/internal/cri"
	"nucleus.dev/nucleus/internal/errdefs"
)

// annotationKey is the reverse-domain notation the OCI spec asks for (and
// runtime-tools checks): a 2-6 letter top-level name, then dot-separated
// labels of letters, digits and '-'.
var annotationKey = regexp.MustCompile(`^[A-Za-z]{2,6}(\.[A-Za-z0-9-]{1,63})+$`)

// labelKey is what may follow LabelPrefix.
var labelKey = regexp.MustCompile(`^[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*$`)

const maxAnnotationKeyBytes = 253

func checkAnnotations(req *Request, pol *Policy) error {
	if n := len(req.Annotations) + len(req.Labels); n > pol.MaxAnnotations {
		return errdefs.InvalidArgument("%d annotations and labels; at most %d are allowed", n, pol.MaxAnnotations)
	}
	total := 0
	for k, v := range req.Annotations {
		total += len(k) + len(v)
		if len(k) > maxAnnotationKeyBytes || !annotationKey.MatchString(k) {
			return errdefs.InvalidArgument("annotation key %.80q is invalid: use reverse-domain notation such as com.example.key (at most %d bytes)", k, maxAnnotationKeyBytes)
		}
		for _, p := range reservedAnnotationPrefixes {
			if k == p || strings.HasPrefix(k, p+".") {
				return errdefs.InvalidArgument("annotation key %q is in the reserved namespace %s.*; reserved: %s", k, p, strings.Join(reservedAnnotationPrefixes, ", "))
			}
		}
		if err := checkText("annotation "+k, v); err != nil {
			return err
		}
	}
	for k, v := range req.Labels {
		total += len(LabelPrefix) + len(k) + len(v)
		if len(LabelPrefix)+len(k) > maxAnnotationKeyBytes || !labelKey.MatchString(k) {
			return errdefs.InvalidArgument("label key %.80q is invalid: use dot-separated names of letters, digits and '-' (at most %d bytes)", k, maxAnnotationKeyBytes-len(LabelPrefix))
		}
		if err := checkText("label "+k, v); err != nil {
			return err
		}
	}
	if total > pol.MaxAnnotationsBytes {
		return errdefs.InvalidArgument("annotations and labels total %d bytes; at most %d are allowed", total, pol.MaxAnnotationsBytes)
	}
	return nil
}

// specAnnotations merges annotations and labels (under LabelPrefix); nil
// when there are none.
func specAnnotations(req *Request) map[string]string {
	if len(req.Annotations)+len(req.Labels) == 0 && req.Pod == "" {
		return nil
	}
	out := make(map[string]string, len(req.Annotations)+len(req.Labels)+2)
	for k, v := range req.Annotations {
		out[k] = v
	}
	for k, v := range req.Labels {
		out[LabelPrefix+k] = v
	}
	if req.Pod != "" {
		// The keys are reserved (checkAnnotations): only the daemon sets them.
		out[cri.ContainerType] = cri.ContainerTypeContainer
		out[cri.SandboxID] = req.Pod
	}
	return out
}

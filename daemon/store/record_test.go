package store

import (
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// fill sets every settable field reachable from v to a non-zero value.
func fill(v reflect.Value) {
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 5, 6, 7, 8, 9, 10, time.UTC)))
		return
	case reflect.TypeFor[nucleusv1.ContainerState]():
		v.Set(reflect.ValueOf(nucleusv1.ContainerState_CONTAINER_STATE_PAUSED))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Interface:
		// Proto oneofs: none in ContainerSpec today; a new one shows up as
		// a round-trip failure of the spec until fill learns it.
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

// TestEveryFieldPersisted fills every field of Container (and of the spec,
// recursively), stores and reloads it: a field must come back equal, or be
// tagged `store:"-"` and come back zero. A new field that is neither
// persisted nor marked fails here.
func TestEveryFieldPersisted(t *testing.T) {
	s := openTest(t, "", Options{})
	in := &Container{}
	fill(reflect.ValueOf(in).Elem())
	in.ID, in.Name = testID(0), "full"
	if err := s.CreateContainer(in); err != nil {
		t.Fatal(err)
	}
	out, err := s.GetContainer(in.ID)
	if err != nil {
		t.Fatal(err)
	}
	iv, ov := reflect.ValueOf(in).Elem(), reflect.ValueOf(out).Elem()
	for i := range iv.NumField() {
		f := iv.Type().Field(i)
		got, want := ov.Field(i), iv.Field(i)
		if f.Tag.Get("store") == "-" {
			if !got.IsZero() {
				t.Errorf("%s is tagged store:\"-\" but was persisted", f.Name)
			}
			continue
		}
		if !persistedEqual(f.Name, got.Interface(), want.Interface()) {
			t.Errorf("%s did not round-trip: got %v, want %v; persist it in record (record.go) or tag it store:\"-\"",
				f.Name, got.Interface(), want.Interface())
		}
	}
}

func persistedEqual(field string, got, want any) bool {
	switch w := want.(type) {
	case *nucleusv1.ContainerSpec:
		// Secret data is stripped on purpose; everything else must survive.
		return proto.Equal(got.(*nucleusv1.ContainerSpec), StripSecrets(w))
	case time.Time:
		return w.Equal(got.(time.Time))
	}
	return reflect.DeepEqual(got, want)
}

"""Sums the TRITUNE_PROFILE files of a run per role: python3 scripts/worker-profile.py <prefix> (docs/BENCHMARKS.md)."""
import json,glob,sys,collections
out={}
for f in glob.glob(sys.argv[1]+'*.json'):
    d=json.load(open(f)); r=out.setdefault(d['role'],{'workers':0,'seconds':collections.Counter(),'counts':collections.Counter()})
    r['workers']+=1; r['seconds'].update(d['seconds']); r['counts'].update(d['counts'])
print(json.dumps(out,indent=1))

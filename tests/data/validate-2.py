import sys,collections
lines=open('advice-questions-2.tsv',encoding='utf-8').read().split('\n')
assert lines[-1]=='' ; lines=lines[:-1]
assert lines[0]=='id\tlang\tlabel\tsplit\tquestion', lines[0]
ids=set(); qs=set(); c=collections.Counter(); errs=0
for n,l in enumerate(lines[1:],2):
    p=l.split('\t')
    if len(p)!=5: print('fields',n,p); errs+=1; continue
    i,lang,lab,sp,q=p
    if i!=f'r{n-1:03d}': print('id',n,i); errs+=1
    if i in ids: print('dup id',i); errs+=1
    key=' '.join(q.lower().split())
    if key in qs: print('dup q',i,q); errs+=1
    ids.add(i); qs.add(key)
    if lang not in('fr','en') or lab not in('advice','clean') or sp!='test2': print('bad',n,p); errs+=1
    if not 5<=len(q)<=300: print('len',n,len(q)); errs+=1
    c[(lang,lab)]+=1
tot=sum(c.values()); fr=c['fr','advice']+c['fr','clean']; en=c['en','advice']+c['en','clean']
print('total',tot,'fr',fr,dict(advice=c['fr','advice'],clean=c['fr','clean']),'en',en,dict(advice=c['en','advice'],clean=c['en','clean']))
ok= tot>=240 and fr>=130 and en>=110 and errs==0
L=[len(l.split('\t')[4]) for l in lines[1:]]; print('len min/max',min(L),max(L))
print('typographic apostrophes',sum('’' in l for l in lines),'ascii',sum("'" in l for l in lines))
print('OK' if ok else 'FAIL'); sys.exit(0 if ok else 1)
